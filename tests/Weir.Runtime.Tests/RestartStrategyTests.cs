using System;
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Linq;
using Weir.Hosting;
using Weir.Recovery;
using Xunit;

namespace Weir.Runtime.Tests;

/// <summary>A <see cref="Random"/> whose NextDouble returns a chosen value, to pin jitter at its extremes.</summary>
public sealed class FixedRandom(double value) : Random
{
    public override double NextDouble() => value;
}

public sealed class RestartStrategyTests
{
    private static readonly Exception Boom = new InvalidOperationException("boom");
    private static readonly TimeSpan ShortRun = TimeSpan.FromSeconds(5);

    private readonly SteppedClock _clock = new();

    [Fact]
    public void DefaultsFollowFlink119ExponentialDelayWithCheckpointingAndNoneWithout()
    {
        var exponential = Assert.IsType<ExponentialDelayRestartOptions>(RestartStrategyOptions.DefaultFor(checkpointingEnabled: true));
        Assert.Equal(TimeSpan.FromSeconds(1), exponential.InitialBackoff);
        Assert.Equal(TimeSpan.FromMinutes(1), exponential.MaxBackoff);
        Assert.Equal(1.5, exponential.Multiplier);
        Assert.Equal(TimeSpan.FromHours(1), exponential.ResetBackoffThreshold);
        Assert.Equal(0.1, exponential.JitterFactor);
        Assert.Equal(int.MaxValue, exponential.AttemptsBeforeReset);
        Assert.Same(NoRestartOptions.Instance, RestartStrategyOptions.DefaultFor(checkpointingEnabled: false));
    }

    [Fact]
    public void NoneGivesUpOnTheFirstFailure()
    {
        RestartStrategy strategy = NoRestartOptions.Instance.CreateStrategy(_clock);
        RestartDecision decision = strategy.OnFailure(Boom, ShortRun);
        Assert.False(decision.Restart);
        Assert.Equal("restart strategy none does not restart jobs; last failure: InvalidOperationException: boom", decision.GiveUpReason);
    }

    [Fact]
    public void FixedDelayRestartsAttemptsTimesThenGivesUpNamingTheCounts()
    {
        RestartStrategy strategy = new FixedDelayRestartOptions { Attempts = 3, Delay = TimeSpan.FromSeconds(10) }.CreateStrategy(_clock);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(RestartDecision.RestartAfter(TimeSpan.FromSeconds(10)), strategy.OnFailure(Boom, ShortRun));
        }

        RestartDecision last = strategy.OnFailure(new TimeoutException("sink unreachable"), TimeSpan.FromHours(5));
        Assert.False(last.Restart);
        Assert.Equal("restart strategy fixed-delay allows 3 attempts; the job failed 4 times; last failure: TimeoutException: sink unreachable", last.GiveUpReason);
        Assert.Equal(4, strategy.TotalFailures);
    }

    [Fact]
    public void FixedDelayWithZeroAttemptsGivesUpAtOnce()
    {
        RestartStrategy strategy = new FixedDelayRestartOptions { Attempts = 0 }.CreateStrategy(_clock);
        Assert.Equal(
            "restart strategy fixed-delay allows 0 attempts; the job failed 1 time; last failure: InvalidOperationException: boom",
            strategy.OnFailure(Boom, ShortRun).GiveUpReason);
    }

    [Fact]
    public void FailureRateGivesUpOnlyWhenTheWindowHoldsMoreThanMaxFailures()
    {
        var options = new FailureRateRestartOptions { MaxFailures = 3, Interval = TimeSpan.FromMinutes(5), Delay = TimeSpan.FromSeconds(10) };
        RestartStrategy strategy = options.CreateStrategy(_clock);

        Assert.True(strategy.OnFailure(Boom, ShortRun).Restart); // t = 0
        _clock.Advance(TimeSpan.FromMinutes(2));
        Assert.True(strategy.OnFailure(Boom, ShortRun).Restart); // t = 2m
        _clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(RestartDecision.RestartAfter(TimeSpan.FromSeconds(10)), strategy.OnFailure(Boom, ShortRun)); // t = 4m: 3 in window

        RestartDecision fourth = strategy.OnFailure(Boom, ShortRun); // t = 4m: 4 within 4m
        Assert.False(fourth.Restart);
        Assert.Equal(
            "restart strategy failure-rate allows 3 failures per 5m; the job failed 4 times within 4m; last failure: InvalidOperationException: boom",
            fourth.GiveUpReason);
    }

    [Fact]
    public void FailureRateWindowSlidesSoOldFailuresStopCounting()
    {
        var options = new FailureRateRestartOptions { MaxFailures = 2, Interval = TimeSpan.FromMinutes(1), Delay = TimeSpan.Zero };
        RestartStrategy strategy = options.CreateStrategy(_clock);

        // Two failures per minute, forever: each new failure pushes out one a minute old.
        for (int i = 0; i < 20; i++)
        {
            Assert.True(strategy.OnFailure(Boom, ShortRun).Restart, $"failure {i}");
            _clock.Advance(TimeSpan.FromSeconds(30));
        }

        // Now at 10m: the last failure was 30 s ago and the one before 60 s ago, which has left the
        // window (a failure exactly one interval old no longer counts). One more fits; a third within the minute does not.
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(strategy.OnFailure(Boom, ShortRun).Restart);
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(strategy.OnFailure(Boom, ShortRun).Restart);
        Assert.Equal(22, strategy.TotalFailures);
    }

    [Fact]
    public void ExponentialDelayGrowsByTheMultiplierUpToTheCap()
    {
        var options = new ExponentialDelayRestartOptions
        {
            InitialBackoff = TimeSpan.FromSeconds(1),
            MaxBackoff = TimeSpan.FromSeconds(10),
            Multiplier = 2,
            JitterFactor = 0,
        };
        RestartStrategy strategy = options.CreateStrategy(_clock, new FixedRandom(0.9));

        double[] delays = Enumerable.Range(0, 7).Select(_ => strategy.OnFailure(Boom, ShortRun).Delay.TotalSeconds).ToArray();
        Assert.Equal([1, 2, 4, 8, 10, 10, 10], delays);
    }

    [Fact]
    public void ExponentialDelayJitterStaysWithinTheFactorEitherWay()
    {
        var options = new ExponentialDelayRestartOptions
        {
            InitialBackoff = TimeSpan.FromSeconds(4),
            MaxBackoff = TimeSpan.FromSeconds(4),
            JitterFactor = 0.1,
        };

        // The extremes of NextDouble's range [0, 1) map to -10% and (just under) +10%.
        Assert.Equal(TimeSpan.FromSeconds(3.6), options.CreateStrategy(_clock, new FixedRandom(0)).OnFailure(Boom, ShortRun).Delay);
        Assert.Equal(TimeSpan.FromSeconds(4), options.CreateStrategy(_clock, new FixedRandom(0.5)).OnFailure(Boom, ShortRun).Delay);
        TimeSpan high = options.CreateStrategy(_clock, new FixedRandom(Math.BitDecrement(1.0))).OnFailure(Boom, ShortRun).Delay;
        Assert.InRange(high, TimeSpan.FromSeconds(4.3999), TimeSpan.FromSeconds(4.4));

        // And a real generator never leaves the band, and does not sit at one value.
        RestartStrategy seeded = options.CreateStrategy(_clock, new Random(42));
        TimeSpan[] delays = Enumerable.Range(0, 1000).Select(_ => seeded.OnFailure(Boom, ShortRun).Delay).ToArray();
        Assert.All(delays, delay => Assert.InRange(delay, TimeSpan.FromSeconds(3.6), TimeSpan.FromSeconds(4.4)));
        Assert.True(delays.Distinct().Count() > 900);
    }

    [Fact]
    public void ExponentialDelayResetsAfterARunLongerThanTheThreshold()
    {
        var options = new ExponentialDelayRestartOptions
        {
            InitialBackoff = TimeSpan.FromSeconds(1),
            MaxBackoff = TimeSpan.FromMinutes(5),
            Multiplier = 2,
            ResetBackoffThreshold = TimeSpan.FromHours(1),
            JitterFactor = 0,
            AttemptsBeforeReset = 3,
        };
        RestartStrategy strategy = options.CreateStrategy(_clock);

        Assert.Equal(TimeSpan.FromSeconds(1), strategy.OnFailure(Boom, ShortRun).Delay);
        Assert.Equal(TimeSpan.FromSeconds(2), strategy.OnFailure(Boom, TimeSpan.FromMinutes(59)).Delay);
        Assert.Equal(TimeSpan.FromSeconds(4), strategy.OnFailure(Boom, ShortRun).Delay);

        // A healthy hour: backoff and attempt count start over, so three more restarts are allowed.
        Assert.Equal(TimeSpan.FromSeconds(1), strategy.OnFailure(Boom, TimeSpan.FromHours(1)).Delay);
        Assert.Equal(TimeSpan.FromSeconds(2), strategy.OnFailure(Boom, ShortRun).Delay);
        Assert.Equal(TimeSpan.FromSeconds(4), strategy.OnFailure(Boom, ShortRun).Delay);

        RestartDecision giveUp = strategy.OnFailure(Boom, ShortRun);
        Assert.False(giveUp.Restart);
        Assert.Equal(
            "restart strategy exponential-delay allows 3 attempts without a run of at least 1h in between; the job failed 4 times in a row; last failure: InvalidOperationException: boom",
            giveUp.GiveUpReason);
        Assert.Equal(7, strategy.TotalFailures);
    }

    [Fact]
    public void ExponentialDelayWithHugeBackoffsCapsInsteadOfOverflowing()
    {
        var options = new ExponentialDelayRestartOptions
        {
            InitialBackoff = TimeSpan.FromDays(1000),
            MaxBackoff = TimeSpan.MaxValue,
            Multiplier = 1000,
            JitterFactor = 1,
        };
        RestartStrategy strategy = options.CreateStrategy(_clock, new FixedRandom(Math.BitDecrement(1.0)));
        for (int i = 0; i < 5; i++)
        {
            Assert.True(strategy.OnFailure(Boom, ShortRun).Delay > TimeSpan.Zero);
        }

        Assert.Equal(TimeSpan.MaxValue, strategy.OnFailure(Boom, ShortRun).Delay);
    }

    [Fact]
    public void CreatingFromInvalidOptionsThrowsNamingTheSetting()
    {
        var error = Assert.Throws<ArgumentException>(() => new FixedDelayRestartOptions { Attempts = -1 }.CreateStrategy());
        Assert.Equal("restart strategy fixed-delay: attempts must be 0 or more (got -1)", error.Message);
    }

    [Theory]
    [InlineData("none")]
    [InlineData(" None ")]
    [InlineData("none:")]
    public void ParsesNone(string text)
    {
        Assert.True(RestartStrategyOptions.TryParse(text, out RestartStrategyOptions options, out string error), error);
        Assert.Same(NoRestartOptions.Instance, options);
    }

    [Fact]
    public void ParsesEveryStrategyWithAllKeys()
    {
        Assert.True(RestartStrategyOptions.TryParse("fixed-delay:attempts=3,delay=10s", out RestartStrategyOptions fixedDelay, out _));
        Assert.Equal(new FixedDelayRestartOptions { Attempts = 3, Delay = TimeSpan.FromSeconds(10) }, fixedDelay);

        Assert.True(RestartStrategyOptions.TryParse("failure-rate:max-failures=3,interval=5m,delay=10s", out RestartStrategyOptions failureRate, out _));
        Assert.Equal(new FailureRateRestartOptions { MaxFailures = 3, Interval = TimeSpan.FromMinutes(5), Delay = TimeSpan.FromSeconds(10) }, failureRate);

        Assert.True(RestartStrategyOptions.TryParse(
            "exponential-delay:initial=1s,max=5m,multiplier=2,reset=1h,jitter=0.1,attempts=10", out RestartStrategyOptions exponential, out _));
        Assert.Equal(
            new ExponentialDelayRestartOptions
            {
                InitialBackoff = TimeSpan.FromSeconds(1),
                MaxBackoff = TimeSpan.FromMinutes(5),
                Multiplier = 2,
                ResetBackoffThreshold = TimeSpan.FromHours(1),
                JitterFactor = 0.1,
                AttemptsBeforeReset = 10,
            },
            exponential);
    }

    [Fact]
    public void ParsesASubsetOfKeysKeepingTheOtherDefaults()
    {
        Assert.True(RestartStrategyOptions.TryParse("exponential-delay:max=5m", out RestartStrategyOptions exponential, out _));
        Assert.Equal(new ExponentialDelayRestartOptions { MaxBackoff = TimeSpan.FromMinutes(5) }, exponential);

        Assert.True(RestartStrategyOptions.TryParse("Fixed-Delay: Attempts = unlimited ", out RestartStrategyOptions fixedDelay, out _));
        Assert.Equal(new FixedDelayRestartOptions { Attempts = int.MaxValue }, fixedDelay);

        Assert.True(RestartStrategyOptions.TryParse("failure-rate", out RestartStrategyOptions failureRate, out _));
        Assert.Equal(new FailureRateRestartOptions(), failureRate);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("fixed-delay:attempts=unlimited,delay=1m30s")]
    [InlineData("failure-rate:max-failures=3,interval=5m,delay=10s")]
    [InlineData("exponential-delay:initial=1s,max=1m,multiplier=1.5,reset=1h,jitter=0.1,attempts=unlimited")]
    public void CommandLineValueRoundTrips(string text)
    {
        Assert.True(RestartStrategyOptions.TryParse(text, out RestartStrategyOptions options, out string error), error);
        Assert.Equal(text, options.ToCommandLineValue());
    }

    [Fact]
    public void DefaultExponentialDelayPrintsAsItsFullCommandLineValue()
        => Assert.Equal(
            "exponential-delay:initial=1s,max=1m,multiplier=1.5,reset=1h,jitter=0.1,attempts=unlimited",
            RestartStrategyOptions.DefaultFor(checkpointingEnabled: true).ToCommandLineValue());

    [Theory]
    [InlineData("", "a restart strategy is required: none, fixed-delay, failure-rate or exponential-delay (e.g. fixed-delay:attempts=3,delay=10s)")]
    [InlineData("fixed", "unknown restart strategy 'fixed'; use none, fixed-delay, failure-rate or exponential-delay")]
    [InlineData("none:attempts=3", "restart strategy none takes no settings (got 'attempts=3')")]
    [InlineData("fixed-delay:tries=3", "restart strategy fixed-delay has no setting 'tries'; valid settings: attempts, delay")]
    [InlineData("failure-rate:failures=3", "restart strategy failure-rate has no setting 'failures'; valid settings: max-failures, interval, delay")]
    [InlineData("exponential-delay:backoff=1s", "restart strategy exponential-delay has no setting 'backoff'; valid settings: initial, max, multiplier, reset, jitter, attempts")]
    [InlineData("fixed-delay:attempts", "restart strategy fixed-delay: setting 'attempts' needs a value: write attempts=<value>")]
    [InlineData("fixed-delay:attempts=", "restart strategy fixed-delay: setting 'attempts' needs a value: write attempts=<value>")]
    [InlineData("fixed-delay:attempts=3,,delay=1s", "restart strategy fixed-delay: empty setting in 'attempts=3,,delay=1s'; write key=value pairs separated by commas")]
    [InlineData("fixed-delay:delay=1s,delay=2s", "restart strategy fixed-delay: setting 'delay' is given twice")]
    [InlineData("fixed-delay:attempts=three", "restart strategy fixed-delay: attempts=three is not a whole number or 'unlimited'")]
    [InlineData("failure-rate:max-failures=unlimited", "restart strategy failure-rate: max-failures=unlimited is not a whole number")]
    [InlineData("fixed-delay:delay=10", "restart strategy fixed-delay: delay=10: '10' is not a duration: '10' needs a unit (ms, s, m, h or d), e.g. 10s; only 0 may be written without one")]
    [InlineData("exponential-delay:multiplier=fast", "restart strategy exponential-delay: multiplier=fast is not a number (e.g. multiplier=1.5)")]
    [InlineData("fixed-delay:attempts=-1", "restart strategy fixed-delay: attempts must be 0 or more (got -1)")]
    [InlineData("failure-rate:max-failures=0", "restart strategy failure-rate: max-failures must be at least 1 (got 0)")]
    [InlineData("failure-rate:interval=0", "restart strategy failure-rate: interval must be longer than 0 (got 0)")]
    [InlineData("exponential-delay:initial=5s,max=1s", "restart strategy exponential-delay: max (1s) must be at least initial (5s)")]
    [InlineData("exponential-delay:multiplier=0.5", "restart strategy exponential-delay: multiplier must be a number of at least 1 (got 0.5)")]
    [InlineData("exponential-delay:jitter=1.5", "restart strategy exponential-delay: jitter must be between 0 and 1 (got 1.5)")]
    [InlineData("exponential-delay:attempts=0", "restart strategy exponential-delay: attempts must be at least 1 (got 0)")]
    public void RejectsWithMessagesNamingTheWrongPart(string text, string expectedError)
    {
        Assert.False(RestartStrategyOptions.TryParse(text, out _, out string error));
        Assert.Equal(expectedError, error);
    }

    [Fact]
    public void PlugsIntoSystemCommandLineAsACustomParser()
    {
        var restart = new Option<RestartStrategyOptions?>("--restart-strategy") { CustomParser = CommandLineValues.ParseRestartStrategy };
        var root = new RootCommand { restart };

        ParseResult good = root.Parse(["--restart-strategy", "fixed-delay:attempts=3"]);
        Assert.Empty(good.Errors);
        Assert.Equal(new FixedDelayRestartOptions { Attempts = 3 }, good.GetValue(restart));

        ParseError error = Assert.Single(root.Parse(["--restart-strategy", "fixed-delay:tries=3"]).Errors);
        Assert.Equal("--restart-strategy: restart strategy fixed-delay has no setting 'tries'; valid settings: attempts, delay", error.Message);
    }
}
