using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.Extensions.Logging;
using Weir.Checkpointing.Coordinator;
using Weir.Execution;
using Weir.Recovery;
using Weir.State;
using Xunit;

namespace Weir.Runtime.Tests;

/// <summary>
/// In the spirit of Flink's EventTimeWindowCheckpointingITCase: windowed sums per key over a
/// deterministic input with bounded disorder, at parallelism 2, with a failure in user code after a
/// checkpoint has completed. The committed output (two-phase-commit text files) holds every
/// (key, window) exactly once with the sum and count computed here.
/// </summary>
[Collection("event time jobs")]
public sealed class EventTimeWindowCheckpointingTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "weir-evtime-" + Guid.NewGuid().ToString("N"));
    private readonly string _output;
    private readonly string _checkpoints;

    public EventTimeWindowCheckpointingTests()
    {
        _output = Path.Combine(_root, "out");
        _checkpoints = Path.Combine(_root, "checkpoints");
    }

    public enum Kind
    {
        Tumbling,
        Sliding,
        Session,
    }

    public enum Backend
    {
        Heap,
        Faster,
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    [Theory]
    [InlineData(Kind.Tumbling, Backend.Heap)]
    [InlineData(Kind.Tumbling, Backend.Faster)]
    [InlineData(Kind.Sliding, Backend.Heap)]
    [InlineData(Kind.Sliding, Backend.Faster)]
    [InlineData(Kind.Session, Backend.Heap)]
    [InlineData(Kind.Session, Backend.Faster)]
    public void Windowed_sums_are_exactly_once_through_a_failure_after_a_checkpoint(Kind kind, Backend backend)
    {
        EventTimeFaults.Arm(EventTimeInput.Records / 2);
        var logger = new RecordingLogger();
        var plan = kind switch
        {
            Kind.Tumbling => EventTimeTumblingSumsJob.CreatePlan(_output),
            Kind.Sliding => EventTimeSlidingSumsJob.CreatePlan(_output),
            _ => EventTimeSessionSumsJob.CreatePlan(_output),
        };

        JobResult result = new LocalExecutor(logger).Execute(plan, Options(_root, _checkpoints, parallelism: 2, backend));

        Assert.True(result.Completed);
        Assert.True(EventTimeFaults.Fired, $"the injected failure did not fire ({EventTimeFaults.CompletedCheckpoints} checkpoints completed, {EventTimeFaults.RecordsPassed} records passed)");
        Assert.Single(logger.Lines, l => l.Level == LogLevel.Warning && l.Message.Contains("injected event-time failure", StringComparison.Ordinal) && l.Message.Contains("restarting", StringComparison.Ordinal));
        Assert.Contains(logger.Lines, l => l.Message.Contains("resumes from checkpoint", StringComparison.Ordinal));

        AssertWindows(Expected(kind), WordCountContractTests.OutputLines(_output).Select(WindowSum.Parse).ToList());

        // Windows fired while the input ran (watermarks follow the data), not only at its final watermark.
        Assert.True(EventTimeFaults.WindowsBeforeFailure > 0, "no window fired before the failure, half way through the input");
    }

    internal static ExecutionOptions Options(string root, string checkpoints, int parallelism, Backend backend)
        => new(
            Parallelism: parallelism,
            StateBackend: backend == Backend.Faster ? StateBackendOptions.Faster(Path.Combine(root, "state"), memoryBudgetBytes: 16L << 20) : StateBackendOptions.Heap,
            Checkpointing: new CheckpointingOptions(
                checkpoints,
                new CheckpointOptions { Interval = TimeSpan.FromMilliseconds(40) },
                Restart: new FixedDelayRestartOptions { Attempts = 3, Delay = TimeSpan.FromMilliseconds(10) },
                Faults: new EventTimeFaults.CompletionProbe()));

    /// <summary>The expected (key, start, end) → (sum, count), computed independently of the runtime.</summary>
    internal static Dictionary<(long Key, long Start, long End), (long Sum, long Count)> Expected(Kind kind)
    {
        var windows = new Dictionary<(long Key, long Start, long End), (long Sum, long Count)>();
        void Add(long key, long start, long end, long value)
        {
            (long sum, long count) = windows.GetValueOrDefault((key, start, end));
            windows[(key, start, end)] = (sum + value, count + 1);
        }

        if (kind == Kind.Session)
        {
            foreach (IGrouping<long, TimedEvent> key in EventTimeInput.All().GroupBy(e => e.Key))
            {
                TimedEvent[] sorted = key.OrderBy(e => e.Ts).ToArray();
                int first = 0;
                while (first < sorted.Length)
                {
                    int last = first;
                    while (last + 1 < sorted.Length && sorted[last + 1].Ts <= sorted[last].Ts + EventTimeSessionSumsJob.GapMs)
                    {
                        last++;
                    }

                    for (int i = first; i <= last; i++)
                    {
                        Add(key.Key, sorted[first].Ts, sorted[last].Ts + EventTimeSessionSumsJob.GapMs, sorted[i].Value);
                    }

                    first = last + 1;
                }
            }

            return windows;
        }

        foreach (TimedEvent e in EventTimeInput.All())
        {
            if (kind == Kind.Tumbling)
            {
                long start = e.Ts - (e.Ts % EventTimeTumblingSumsJob.SizeMs);
                Add(e.Key, start, start + EventTimeTumblingSumsJob.SizeMs, e.Value);
            }
            else
            {
                for (long start = e.Ts - (e.Ts % EventTimeSlidingSumsJob.SlideMs); start > e.Ts - EventTimeSlidingSumsJob.SizeMs; start -= EventTimeSlidingSumsJob.SlideMs)
                {
                    Add(e.Key, start, start + EventTimeSlidingSumsJob.SizeMs, e.Value);
                }
            }
        }

        return windows;
    }

    internal static void AssertWindows(Dictionary<(long Key, long Start, long End), (long Sum, long Count)> expected, List<WindowSum> actual)
    {
        Assert.True(expected.Count > 100, $"the input should make many windows, not {expected.Count}");

        string[] duplicates = actual.GroupBy(w => (w.Key, w.Start, w.End)).Where(g => g.Count() > 1).Select(g => g.Key.ToString()).Take(5).ToArray();
        Assert.True(duplicates.Length == 0, "windows emitted more than once: " + string.Join(", ", duplicates));

        // No key gets more (or fewer) windows than expected.
        var expectedPerKey = expected.Keys.GroupBy(w => w.Key).ToDictionary(g => g.Key, g => g.Count());
        var actualPerKey = actual.GroupBy(w => w.Key).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(expectedPerKey.OrderBy(kv => kv.Key), actualPerKey.OrderBy(kv => kv.Key));

        string[] wrong = actual
            .Where(w => !expected.TryGetValue((w.Key, w.Start, w.End), out var e) || e != (w.Sum, w.Count))
            .Select(w => $"{w} (expected {(expected.TryGetValue((w.Key, w.Start, w.End), out var e) ? e.ToString() : "no such window")})")
            .Take(5)
            .ToArray();
        Assert.True(wrong.Length == 0, "wrong windows: " + string.Join("; ", wrong));
        Assert.Equal(expected.Count, actual.Count);
    }
}
