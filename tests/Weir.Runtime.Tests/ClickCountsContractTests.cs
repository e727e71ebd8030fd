using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using ClickCounts;
using Weir.Execution;
using Xunit;

namespace Weir.Runtime.Tests;

/// <summary>
/// ClickCounts' output contract: per (url, one-minute event-time window) exactly one line
/// <c>url TAB window_start TAB window_end TAB count</c> with the window's number of clicks; clicks
/// at most 5 s out of order are never late; clicks far behind the data's progress go to
/// <c>DIR/_late/</c> as their JSON line and are not counted.
/// </summary>
public sealed class ClickCountsContractTests : IDisposable
{
    internal const long Epoch = 1_700_000_000_000; // a multiple of 60 000: windows align to whole minutes of it
    private readonly string _root = Path.Combine(Path.GetTempPath(), "weir-clicks-" + Guid.NewGuid().ToString("N"));

    public ClickCountsContractTests() => Directory.CreateDirectory(_root);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Disordered_clicks_within_five_seconds_are_counted_exactly(int parallelism)
    {
        string input = Path.Combine(_root, "clicks.jsonl");
        List<Click> clicks = Generate(count: 6000, urls: 30, minutes: 40, seed: 11 + parallelism);
        WriteClicks(input, clicks);
        string output = Path.Combine(_root, $"out-{parallelism}");

        JobResult result = new LocalExecutor().Execute(ClickCountsJob.CreatePlan(input, output), new ExecutionOptions(Parallelism: parallelism));

        Assert.True(result.Completed);
        AssertCounts(ExpectedLines(clicks), output);
        Assert.Empty(LateLines(output));
    }

    /// <summary>
    /// Watermarks per split: three files (say, one per web server) cover the same 40 minutes and are
    /// read one after another. The first file's clicks must not advance event time past the
    /// others': each file is its own timeline, so none of their clicks is late.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Files_covering_the_same_minutes_are_each_counted_on_time(int parallelism)
    {
        string input = Path.Combine(_root, "servers");
        Directory.CreateDirectory(input);
        var all = new List<Click>();
        for (int server = 0; server < 3; server++)
        {
            List<Click> clicks = Generate(count: 3000, urls: 20, minutes: 40, seed: 100 + server);
            WriteClicks(Path.Combine(input, $"server-{server}.jsonl"), clicks);
            all.AddRange(clicks);
        }

        string output = Path.Combine(_root, $"out-{parallelism}");

        JobResult result = new LocalExecutor().Execute(ClickCountsJob.CreatePlan(input, output), new ExecutionOptions(Parallelism: parallelism));

        Assert.True(result.Completed);
        Assert.Empty(LateLines(output));
        AssertCounts(ExpectedLines(all), output);
    }

    [Fact]
    public void Clicks_minutes_behind_go_to_the_late_output_and_are_not_counted()
    {
        string input = Path.Combine(_root, "clicks.jsonl");
        List<Click> clicks = Generate(count: 6000, urls: 30, minutes: 40, seed: 5);

        // Late clicks, 10 minutes behind the data at 40 %, 60 % and 80 % of the input. The rate keeps
        // the run about 3 s long, so even a periodic (200 ms) watermark has long passed their windows.
        var late = new List<Click>();
        foreach (int at in new[] { 4800, 3600, 2400 })
        {
            var click = new Click(clicks[at].Url, clicks[at].Timestamp - 600_000 - 1234);
            late.Add(click);
            clicks.Insert(at, click);
        }

        WriteClicks(input, clicks);
        List<Click> onTime = clicks.Where((_, i) => i != 2400 && i != 3601 && i != 4802).ToList(); // the late clicks' final positions
        Assert.Equal(clicks.Count - late.Count, onTime.Count);
        Assert.Equal(late, new[] { clicks[4802], clicks[3601], clicks[2400] });
        string output = Path.Combine(_root, "out");

        JobResult result = new LocalExecutor().Execute(ClickCountsJob.CreatePlan(input, output, rate: 2000), new ExecutionOptions(Parallelism: 1));

        Assert.True(result.Completed);
        AssertCounts(ExpectedLines(onTime), output); // not Except: identical clicks (same url and ts) each count
        List<string> lateLines = LateLines(output);
        Assert.Equal(late.Select(c => c.ToString()).OrderBy(l => l, StringComparer.Ordinal), lateLines.OrderBy(l => l, StringComparer.Ordinal));
        Assert.Equal(late.OrderBy(c => c.Timestamp), lateLines.Select(Click.Parse).OrderBy(c => c.Timestamp));
    }

    /// <summary>
    /// Clicks in input order: an underlying time that advances over <paramref name="minutes"/>, each
    /// click stamped up to 4.9 s before it (so at most 4.9 s out of order), some exactly on window bounds.
    /// </summary>
    internal static List<Click> Generate(int count, int urls, int minutes, int seed)
    {
        var random = new Random(seed);
        string[] names = Enumerable.Range(0, urls).Select(i => $"https://example.com/{(char)('a' + (i % 26))}/page-{i}").ToArray();
        long span = minutes * 60_000L;
        var clicks = new List<Click>(count);
        for (int i = 0; i < count; i++)
        {
            long now = Epoch + 10_000 + (span * i / count);
            long ts = random.Next(5) == 0 ? now : now - random.Next(0, 4900);
            if (random.Next(50) == 0)
            {
                // On a window bound (the first or the last millisecond of a minute), when that is in range.
                long bound = now - (now % 60_000) - (random.Next(2) == 0 ? 0 : 1);
                ts = bound >= now - 4900 ? bound : ts;
            }

            // Zipf-like: a few URLs take most clicks.
            int url = (int)Math.Min(urls - 1, Math.Floor(Math.Pow(random.NextDouble(), 2) * urls));
            clicks.Add(new Click(names[url], ts));
        }

        return clicks;
    }

    internal static void WriteClicks(string path, IEnumerable<Click> clicks)
    {
        var text = new StringBuilder();
        foreach (Click click in clicks)
        {
            text.Append(CultureInfo.InvariantCulture, $"{{\"url\": \"{click.Url}\", \"ts\": {click.Timestamp}}}\n");
        }

        File.WriteAllText(path, text.ToString());
    }

    /// <summary>An independent reference: counts per (url, minute).</summary>
    internal static HashSet<string> ExpectedLines(IEnumerable<Click> clicks)
        => clicks
            .GroupBy(c => (c.Url, Start: c.Timestamp - (((c.Timestamp % 60_000) + 60_000) % 60_000)))
            .Select(g => string.Create(CultureInfo.InvariantCulture, $"{g.Key.Url}\t{g.Key.Start}\t{g.Key.Start + 60_000}\t{g.Count()}"))
            .ToHashSet(StringComparer.Ordinal);

    internal static List<string> OutputLines(string output)
        => Directory.GetFiles(output, "part-*")
            .Where(f => !Path.GetFileName(f).StartsWith('.'))
            .SelectMany(File.ReadAllLines)
            .ToList();

    internal static List<string> LateLines(string output)
    {
        string late = Path.Combine(output, "_late");
        return Directory.Exists(late)
            ? Directory.GetFiles(late, "part-*").SelectMany(File.ReadAllLines).ToList()
            : new List<string>();
    }

    internal static void AssertCounts(HashSet<string> expected, string output)
    {
        List<string> lines = OutputLines(output);
        var duplicates = lines.GroupBy(l => l, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).Take(5).ToArray();
        Assert.True(duplicates.Length == 0, "duplicate lines: " + string.Join(" | ", duplicates));

        // Each (url, window) once, whatever its count.
        var windows = lines.Select(l => string.Join('\t', l.Split('\t').Take(3))).GroupBy(w => w, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).Take(5).ToArray();
        Assert.True(windows.Length == 0, "windows emitted more than once: " + string.Join(" | ", windows));

        var missing = expected.Except(lines).Take(5).ToArray();
        var unexpected = lines.Except(expected).Take(5).ToArray();
        Assert.True(missing.Length == 0 && unexpected.Length == 0, $"missing: {string.Join(" | ", missing)}; unexpected: {string.Join(" | ", unexpected)}");
        Assert.Equal(expected.Count, lines.Count);
    }
}
