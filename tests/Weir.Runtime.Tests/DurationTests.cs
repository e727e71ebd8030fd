using System;
using System.CommandLine;
using System.CommandLine.Parsing;
using Weir.Hosting;
using Xunit;

namespace Weir.Runtime.Tests;

public sealed class DurationTests
{
    [Theory]
    [InlineData("200ms", 200 * TimeSpan.TicksPerMillisecond)]
    [InlineData("1s", TimeSpan.TicksPerSecond)]
    [InlineData("5m", 5 * TimeSpan.TicksPerMinute)]
    [InlineData("1h", TimeSpan.TicksPerHour)]
    [InlineData("2d", 2 * TimeSpan.TicksPerDay)]
    [InlineData("1.5s", 15 * TimeSpan.TicksPerSecond / 10)]
    [InlineData("1m30s", 90 * TimeSpan.TicksPerSecond)]
    [InlineData("1h2m3s4ms", TimeSpan.TicksPerHour + 2 * TimeSpan.TicksPerMinute + 3 * TimeSpan.TicksPerSecond + 4 * TimeSpan.TicksPerMillisecond)]
    [InlineData("0", 0)]
    [InlineData("0s", 0)]
    [InlineData(" 10 s ", 10 * TimeSpan.TicksPerSecond)]
    [InlineData("10 S", 10 * TimeSpan.TicksPerSecond)]
    [InlineData("1 min", TimeSpan.TicksPerMinute)]
    [InlineData("0.25ms", TimeSpan.TicksPerMillisecond / 4)]
    public void Parses(string text, long expectedTicks)
    {
        Assert.True(Duration.TryParse(text, out TimeSpan duration, out string error), error);
        Assert.Equal(TimeSpan.FromTicks(expectedTicks), duration);
        Assert.Equal("", error);
    }

    [Theory]
    [InlineData("", "a duration is required (e.g. 200ms, 10s, 1.5s, 1m30s)")]
    [InlineData("   ", "a duration is required (e.g. 200ms, 10s, 1.5s, 1m30s)")]
    [InlineData("-5s", "'-5s' is not a duration: durations cannot be negative")]
    [InlineData("10", "'10' is not a duration: '10' needs a unit (ms, s, m, h or d), e.g. 10s; only 0 may be written without one")]
    [InlineData("5x", "'5x' is not a duration: unknown unit 'x'; use ms, s, m, h or d (e.g. 200ms, 10s, 1.5s, 1m30s)")]
    [InlineData("5 weeks", "'5 weeks' is not a duration: unknown unit 'weeks'; use ms, s, m, h or d (e.g. 200ms, 10s, 1.5s, 1m30s)")]
    [InlineData("s", "'s' is not a duration: expected a number before 's' (e.g. 200ms, 10s, 1.5s, 1m30s)")]
    [InlineData("1.2.3s", "'1.2.3s' is not a duration: '1.2.3' is not a number (e.g. 200ms, 10s, 1.5s, 1m30s)")]
    [InlineData("30s1m", "'30s1m' is not a duration: write units from largest to smallest, each once (e.g. 1h30m, 1m30s)")]
    [InlineData("1m1m", "'1m1m' is not a duration: write units from largest to smallest, each once (e.g. 1h30m, 1m30s)")]
    [InlineData("1m30", "'1m30' is not a duration: '30' needs a unit (ms, s, m, h or d), e.g. 30s; only 0 may be written without one")]
    [InlineData("5s!", "'5s!' is not a duration: unexpected '!' (e.g. 200ms, 10s, 1.5s, 1m30s)")]
    [InlineData("99999999d", "'99999999d' is not a duration: it is longer than the longest supported duration (10675199 days)")]
    public void RejectsWithActionableMessage(string text, string expectedError)
    {
        Assert.False(Duration.TryParse(text, out TimeSpan duration, out string error));
        Assert.Equal(expectedError, error);
        Assert.Equal(TimeSpan.Zero, duration);
    }

    [Fact]
    public void TwoArgumentOverloadAgreesWithTheErrorReportingOne()
    {
        Assert.True(Duration.TryParse("1m30s", out TimeSpan duration));
        Assert.Equal(TimeSpan.FromSeconds(90), duration);
        Assert.False(Duration.TryParse("1m30", out _));
    }

    [Theory]
    [InlineData(0, "0")]
    [InlineData(200 * TimeSpan.TicksPerMillisecond, "200ms")]
    [InlineData(15 * TimeSpan.TicksPerSecond / 10, "1s500ms")]
    [InlineData(90 * TimeSpan.TicksPerSecond, "1m30s")]
    [InlineData(TimeSpan.TicksPerHour, "1h")]
    [InlineData(TimeSpan.TicksPerDay + TimeSpan.TicksPerSecond, "1d1s")]
    [InlineData(TimeSpan.TicksPerMillisecond / 4, "0.25ms")]
    [InlineData(-5 * TimeSpan.TicksPerSecond, "-5s")]
    public void FormatsCompactly(long ticks, string expected)
        => Assert.Equal(expected, Duration.Format(TimeSpan.FromTicks(ticks)));

    [Theory]
    [InlineData(1)]
    [InlineData(12_345_678)]
    [InlineData(TimeSpan.TicksPerDay * 3 + 17)]
    [InlineData(long.MaxValue)]
    public void FormatParsesBackToTheSameDuration(long ticks)
    {
        TimeSpan original = TimeSpan.FromTicks(ticks);
        Assert.True(Duration.TryParse(Duration.Format(original), out TimeSpan parsed, out string error), error);
        Assert.Equal(original, parsed);
    }

    [Fact]
    public void FormatsTheMostNegativeDurationWithoutOverflow()
        => Assert.StartsWith("-10675199d", Duration.Format(TimeSpan.MinValue));

    [Fact]
    public void PlugsIntoSystemCommandLineAsACustomParser()
    {
        var interval = new Option<TimeSpan>("--interval") { CustomParser = CommandLineValues.ParseDuration };
        var root = new RootCommand { interval };

        ParseResult good = root.Parse(["--interval", "1m30s"]);
        Assert.Empty(good.Errors);
        Assert.Equal(TimeSpan.FromSeconds(90), good.GetValue(interval));

        ParseResult bad = root.Parse(["--interval", "5x"]);
        ParseError error = Assert.Single(bad.Errors);
        Assert.Equal("--interval: '5x' is not a duration: unknown unit 'x'; use ms, s, m, h or d (e.g. 200ms, 10s, 1.5s, 1m30s)", error.Message);
    }
}
