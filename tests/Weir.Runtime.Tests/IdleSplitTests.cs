using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Weir;
using Weir.Connectors;
using Weir.Execution;
using Xunit;

namespace Weir.Runtime.Tests;

/// <summary>One record of the idle-split jobs: a key and its event time (milliseconds).</summary>
public readonly record struct Tick(string Key, long Ts);

/// <summary>A one-second window's count for a key.</summary>
public readonly record struct TickWindowCount(string Key, long Start, long End, long Count);

/// <summary>
/// The controls and observations shared by the idle-split source and sink (one job runs at a time:
/// the tests of <see cref="IdleSplitTests"/> run one after the other).
/// </summary>
public static class IdleSplit
{
    /// <summary>Subtask 0's records, emitted at once before it goes silent.</summary>
    public static readonly Tick[] SilentRecords = [new("k0", 50), new("k1", 150), new("k2", 250)];

    /// <summary>Subtask 1's records: record i is k(i % 3) at i * 100 ms, emitted no earlier than i * 2 ms after it starts.</summary>
    public const int ActiveRecords = 2000;

    public static ManualResetEventSlim Release = new(false);
    public static ManualResetEventSlim Fired = new(false);
    public static ConcurrentQueue<TickWindowCount> Results = new();
    public static int SilentPolls;
    public static volatile bool SilentEnded;
    public static int ActiveEmitted;

    public static void Reset()
    {
        Release = new ManualResetEventSlim(false);
        Fired = new ManualResetEventSlim(false);
        Results = new ConcurrentQueue<TickWindowCount>();
        SilentPolls = 0;
        SilentEnded = false;
        ActiveEmitted = 0;
    }

    public static Tick Active(int i) => new("k" + (i % 3), i * 100L);
}

/// <summary>
/// Two splits: the silent one emits a few records then stays silent until released; the active one
/// keeps emitting. Either each split is a subtask (parallelism 2), or one reader reads both splits
/// interleaved and reports them (parallelism 1), so event time keeps a watermark per split.
/// </summary>
public sealed class IdleSplitSource(bool oneReader = false) : ISource<Tick, IdleSplitReader>
{
    public bool IsBounded => true;

    public IdleSplitReader CreateReader(SourceContext context)
    {
        if (context.Parallelism != (oneReader ? 1 : 2))
        {
            throw new InvalidOperationException($"The idle-split source runs at parallelism {(oneReader ? 1 : 2)}.");
        }

        return oneReader ? new IdleSplitReader(context.Splits) : new IdleSplitReader(context.SubtaskIndex);
    }
}

public sealed class IdleSplitReader : ISourceReader<Tick>
{
    private readonly bool _readsSilent;
    private readonly bool _readsActive;
    private readonly SourceSplits? _splits;
    private readonly int _silentSplit;
    private readonly int _activeSplit;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private bool _emittedSilentRecords;
    private bool _activeEnded;
    private int _next;

    /// <summary>The reader of one split: subtask 0 reads the silent split, subtask 1 the active one.</summary>
    public IdleSplitReader(int subtask)
    {
        _readsSilent = subtask == 0;
        _readsActive = subtask == 1;
    }

    /// <summary>One reader of both splits, interleaving them and reporting which one each batch is from.</summary>
    public IdleSplitReader(SourceSplits splits)
    {
        _readsSilent = _readsActive = true;
        _splits = splits;
        _silentSplit = splits.Register("silent");
        _activeSplit = splits.Register("active");
    }

    public int Read(Span<Tick> buffer)
    {
        if (_readsSilent && !_emittedSilentRecords)
        {
            _emittedSilentRecords = true;
            _splits?.Enter(_silentSplit);
            IdleSplit.SilentRecords.CopyTo(buffer);
            return IdleSplit.SilentRecords.Length;
        }

        if (_readsActive && !_activeEnded)
        {
            int count = ReadActive(buffer);
            if (count > 0)
            {
                _splits?.Enter(_activeSplit);
                return count;
            }

            if (count < 0)
            {
                _activeEnded = true;
                _splits?.Finish(_activeSplit);
            }
            else
            {
                if (_readsSilent)
                {
                    // Neither split has records now; the silent one was asked too.
                    Interlocked.Increment(ref IdleSplit.SilentPolls);
                }

                return 0;
            }
        }

        if (!_readsSilent)
        {
            return -1;
        }

        // Silent: no records while blocked on the test's event, then the end.
        if (!IdleSplit.Release.Wait(5))
        {
            Interlocked.Increment(ref IdleSplit.SilentPolls);
            return 0;
        }

        if (_readsActive && !_activeEnded)
        {
            return 0;
        }

        IdleSplit.SilentEnded = true;
        return -1;
    }

    public void Dispose()
    {
    }

    private int ReadActive(Span<Tick> buffer)
    {
        if (_next >= IdleSplit.ActiveRecords)
        {
            return -1;
        }

        int due = (int)Math.Min(IdleSplit.ActiveRecords, (_clock.ElapsedMilliseconds / 2) + 1);
        int count = Math.Min(buffer.Length, due - _next);
        if (count <= 0)
        {
            Thread.Sleep(1);
            return 0;
        }

        for (int i = 0; i < count; i++)
        {
            buffer[i] = IdleSplit.Active(_next + i);
        }

        _next += count;
        Interlocked.Exchange(ref IdleSplit.ActiveEmitted, _next);
        return count;
    }
}

/// <summary>Records every window result and signals the first.</summary>
public sealed class WindowResultSink : ISink<TickWindowCount, WindowResultWriter>
{
    public WindowResultWriter CreateWriter(SinkContext context) => new();
}

public sealed class WindowResultWriter : ISinkWriter<TickWindowCount>
{
    public void Write(in TickWindowCount record)
    {
        IdleSplit.Results.Enqueue(record);
        IdleSplit.Fired.Set();
    }

    public void Flush()
    {
    }

    public void Finish()
    {
    }

    public void Dispose()
    {
    }
}

public struct CountTicks : IAggregateFunction<Tick, long, long>
{
    public readonly long CreateAccumulator() => 0;

    public readonly void Add(in Tick value, ref long accumulator) => accumulator++;

    public readonly long GetResult(in long accumulator) => accumulator;
}

public struct NameTickWindow : IProcessWindowFunction<string, long, TickWindowCount>
{
    public readonly void Process(string key, TimeWindow window, IReadOnlyList<long> elements, ref Collector<TickWindowCount> output)
        => output.Collect(new TickWindowCount(key, window.Start, window.End, elements[0]));
}

/// <summary>Per-key one-second window counts over the idle-split source, with 500 ms idleness.</summary>
[Job("idle-split-with-idleness")]
public static partial class IdleSplitWithIdlenessJob
{
    [Pipeline]
    private static void Define(PipelineBuilder p) => p
        .Source("ticks", new IdleSplitSource())
        .AssignTimestampsAndWatermarks(t => t.Ts, WatermarkStrategy.ForBoundedOutOfOrderness<Tick>(TimeSpan.FromSeconds(1)).WithIdleness(TimeSpan.FromMilliseconds(500)))
        .KeyBy(t => t.Key)
        .Window(Windows.Tumbling(TimeSpan.FromSeconds(1)))
        .Aggregate("count", new CountTicks(), new NameTickWindow())
        .Sink("results", new WindowResultSink());
}

/// <summary>The same job without idleness: the silent split holds event time back.</summary>
[Job("idle-split-without-idleness")]
public static partial class IdleSplitWithoutIdlenessJob
{
    [Pipeline]
    private static void Define(PipelineBuilder p) => p
        .Source("ticks", new IdleSplitSource())
        .AssignTimestampsAndWatermarks(t => t.Ts, WatermarkStrategy.ForBoundedOutOfOrderness<Tick>(TimeSpan.FromSeconds(1)))
        .KeyBy(t => t.Key)
        .Window(Windows.Tumbling(TimeSpan.FromSeconds(1)))
        .Aggregate("count", new CountTicks(), new NameTickWindow())
        .Sink("results", new WindowResultSink());
}

/// <summary>The idle-split job with both splits read by one reader (watermarks per split), with idleness.</summary>
[Job("idle-split-one-reader-with-idleness")]
public static partial class IdleSplitOneReaderWithIdlenessJob
{
    [Pipeline]
    private static void Define(PipelineBuilder p) => p
        .Source("ticks", new IdleSplitSource(oneReader: true))
        .AssignTimestampsAndWatermarks(t => t.Ts, WatermarkStrategy.ForBoundedOutOfOrderness<Tick>(TimeSpan.FromSeconds(1)).WithIdleness(TimeSpan.FromMilliseconds(500)))
        .KeyBy(t => t.Key)
        .Window(Windows.Tumbling(TimeSpan.FromSeconds(1)))
        .Aggregate("count", new CountTicks(), new NameTickWindow())
        .Sink("results", new WindowResultSink());
}

/// <summary>The same without idleness: the silent split holds the reader's watermark back.</summary>
[Job("idle-split-one-reader-without-idleness")]
public static partial class IdleSplitOneReaderWithoutIdlenessJob
{
    [Pipeline]
    private static void Define(PipelineBuilder p) => p
        .Source("ticks", new IdleSplitSource(oneReader: true))
        .AssignTimestampsAndWatermarks(t => t.Ts, WatermarkStrategy.ForBoundedOutOfOrderness<Tick>(TimeSpan.FromSeconds(1)))
        .KeyBy(t => t.Key)
        .Window(Windows.Tumbling(TimeSpan.FromSeconds(1)))
        .Aggregate("count", new CountTicks(), new NameTickWindow())
        .Sink("results", new WindowResultSink());
}

/// <summary>
/// A source split that goes silent (its reader returns no records, without ending): with
/// <c>WithIdleness</c> it is marked idle and windows fire on the other split's event time; without,
/// it holds event time back and no window fires until it ends. The splits are two subtasks of the
/// source, or two splits of one reader (watermarks per split, idleness per split).
/// </summary>
public sealed class IdleSplitTests
{
    private static readonly TimeSpan JobTimeout = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task With_idleness_windows_fire_while_a_split_is_silent(bool oneReader)
    {
        IdleSplit.Reset();
        Task<JobResult> job = Task.Run(() => oneReader
            ? new LocalExecutor().Execute(IdleSplitOneReaderWithIdlenessJob.CreatePlan(), new ExecutionOptions(Parallelism: 1))
            : new LocalExecutor().Execute(IdleSplitWithIdlenessJob.CreatePlan(), new ExecutionOptions(Parallelism: 2)));
        try
        {
            Assert.True(IdleSplit.Fired.Wait(TimeSpan.FromSeconds(20)), "no window fired while the silent split was silent, though it should be idle after 500 ms");

            // The split is still silent: not released, not ended, and it was asked for records meanwhile.
            Assert.False(IdleSplit.SilentEnded);
            Assert.False(IdleSplit.Release.IsSet);
            Assert.True(Volatile.Read(ref IdleSplit.SilentPolls) > 0);
            TickWindowCount[] early = IdleSplit.Results.ToArray();
            Assert.NotEmpty(early);
            Dictionary<(string, long), long> expected = Expected();
            foreach (TickWindowCount window in early)
            {
                Assert.True(expected.TryGetValue((window.Key, window.Start), out long count), $"unexpected window {window}");
                Assert.Equal(count, window.Count);
                Assert.Equal(window.Start + 1000, window.End);
            }
        }
        finally
        {
            IdleSplit.Release.Set();
        }

        JobResult result = await job.WaitAsync(JobTimeout); // throws TimeoutException when the job does not finish
        Assert.True(result.Completed);
        AssertAllWindows();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Without_idleness_a_silent_split_holds_every_window_back_until_it_ends(bool oneReader)
    {
        IdleSplit.Reset();
        Task<JobResult> job = Task.Run(() => oneReader
            ? new LocalExecutor().Execute(IdleSplitOneReaderWithoutIdlenessJob.CreatePlan(), new ExecutionOptions(Parallelism: 1))
            : new LocalExecutor().Execute(IdleSplitWithoutIdlenessJob.CreatePlan(), new ExecutionOptions(Parallelism: 2)));
        try
        {
            Assert.False(IdleSplit.Fired.Wait(TimeSpan.FromSeconds(3)), $"a window fired while the silent split was silent and not idle: {IdleSplit.Results.FirstOrDefault()}");
            Assert.Empty(IdleSplit.Results);

            // Meanwhile the other split's event time went far past the first windows' ends.
            Assert.True(Volatile.Read(ref IdleSplit.ActiveEmitted) > 100, $"the active split emitted only {IdleSplit.ActiveEmitted} records in 3 s");
            Assert.True(Volatile.Read(ref IdleSplit.SilentPolls) > 0);
            Assert.False(IdleSplit.SilentEnded);
        }
        finally
        {
            IdleSplit.Release.Set();
        }

        JobResult result = await job.WaitAsync(JobTimeout); // throws TimeoutException when the job does not finish
        Assert.True(result.Completed);
        Assert.True(IdleSplit.SilentEnded);
        AssertAllWindows();
    }

    private static Dictionary<(string Key, long Start), long> Expected()
        => IdleSplit.SilentRecords
            .Concat(Enumerable.Range(0, IdleSplit.ActiveRecords).Select(IdleSplit.Active))
            .GroupBy(t => (t.Key, Start: t.Ts - (t.Ts % 1000)))
            .ToDictionary(g => g.Key, g => (long)g.Count());

    private static void AssertAllWindows()
    {
        Dictionary<(string Key, long Start), long> expected = Expected();
        TickWindowCount[] results = IdleSplit.Results.ToArray();
        var duplicates = results.GroupBy(r => (r.Key, r.Start)).Where(g => g.Count() > 1).Select(g => g.Key).Take(5).ToArray();
        Assert.True(duplicates.Length == 0, "windows fired twice: " + string.Join(", ", duplicates));
        Assert.Equal(
            expected.OrderBy(kv => kv.Key.Key, StringComparer.Ordinal).ThenBy(kv => kv.Key.Start).Select(kv => $"{kv.Key.Key}@{kv.Key.Start}={kv.Value}"),
            results.OrderBy(r => r.Key, StringComparer.Ordinal).ThenBy(r => r.Start).Select(r => $"{r.Key}@{r.Start}={r.Count}"));
        Assert.All(results, r => Assert.Equal(r.Start + 1000, r.End));
    }
}
