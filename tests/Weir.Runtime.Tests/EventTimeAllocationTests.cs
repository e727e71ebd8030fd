using System;
using System.Collections.Generic;
using System.Threading;
using Weir;
using Weir.Connectors;
using Weir.Execution;
using Weir.Time;
using Xunit;
using Xunit.Abstractions;

namespace Weir.Runtime.Tests;

/// <summary>
/// What the warmed-up event-time window path allocates: a tumbling-window count over value-type
/// records at parallelism 1, where the source chain (generate -> probe map -> timestamps/watermarks ->
/// key-by) and the keyed chain (window operator -> window function -> sink) run on one thread, the
/// keyed chain fed batch by batch by a direct call.
/// </summary>
public sealed class EventTimeAllocationTests(ITestOutputHelper output)
{
    [Fact]
    public void The_warmed_up_tumbling_window_count_allocates_nothing_per_record_nor_per_fired_window()
    {
        WindowAllocationProbeJob.Reset();
        JobResult result = new LocalExecutor().Execute(WindowAllocationProbeJob.CreatePlan(), new ExecutionOptions(Parallelism: 1));

        Assert.True(result.Completed);

        // Every record counted once, in exactly one (key, window) result.
        Assert.Equal(WindowAllocationProbeJob.Records, WindowAllocationProbeSink.CountSum);
        Assert.Equal(WindowAllocationProbeJob.ExpectedResults, WindowAllocationProbeSink.Results);

        Assert.True(WindowAllocationProbeJob.BytesAtWarm > 0 && WindowAllocationProbeJob.BytesAtEnd > 0, "the probes did not run");

        // The measured interval really exercised the steady state: windows of every key were created
        // (a record opening a key's next window: a new map entry and a new timer) and fired (the
        // watermark passing their end: timer popped, entry removed, function called, result written)
        // between the two probes, not only records added to windows that already exist.
        long firedWhileMeasured = WindowAllocationProbeJob.ResultsAtEnd - WindowAllocationProbeJob.ResultsAtWarm;
        long windowsPerKeyMeasured = (WindowAllocationProbeJob.Records - WindowAllocationProbeJob.WarmUp) / WindowAllocationProbeJob.RecordsPerWindow;
        Assert.True(
            firedWhileMeasured >= (windowsPerKeyMeasured - 2) * WindowAllocationProbeJob.Keys,
            $"only {firedWhileMeasured} windows fired between the probes");

        // One thread, all of it: 1.5M records after warm-up into 15,000 (key, window) pairs, of which about
        // as many were created and fired.
        long bytes = WindowAllocationProbeJob.BytesAtEnd - WindowAllocationProbeJob.BytesAtWarm;
        Assert.True(
            Environment.CurrentManagedThreadId != WindowAllocationProbeJob.ProbeThread,
            "the job ran on the test thread"); // sanity: the probe measured the subtask thread
        Assert.True(WindowAllocationProbeJob.ProbeThread == WindowAllocationProbeSink.SinkThread, "the keyed chain did not run on the source thread (parallelism 1 should chain it there)");
        output.WriteLine(
            $"records {WindowAllocationProbeJob.WarmUp:N0}..{WindowAllocationProbeJob.Records:N0} on thread {WindowAllocationProbeJob.ProbeThread}: " +
            $"{bytes} bytes allocated, {firedWhileMeasured:N0} windows fired meanwhile ({WindowAllocationProbeSink.Results:N0} in all)");

        // A check of the check: a window function that allocates one 24-byte object per window made
        // this 360,000 (15,000 windows fired between the probes), so per-window garbage is caught.
        Assert.Equal(0, bytes);
    }
}

/// <summary>One input record: a key and its event time (Unix ms).</summary>
public readonly record struct TimedReading(long Key, long Timestamp);

/// <summary>A (key, window) count.</summary>
public readonly record struct KeyWindowTotal(long Key, long WindowEnd, long Count);

/// <summary>
/// Record <c>i</c>: key <c>i % 100</c>, time <c>i / 10 - (i % 7)</c> ms: ten records per millisecond,
/// up to 6 ms out of order, so each key has 100 records in every one-second window.
/// </summary>
public struct TimedReadingGenerator : IRecordGenerator<TimedReading>
{
    public readonly TimedReading Generate(long index)
        => new(index % WindowAllocationProbeJob.Keys, WindowAllocationProbeJob.Start + (index / 10) - (index % 7));
}

/// <summary>
/// Bounded out-of-orderness (10 ms), but punctuated: the watermark is emitted in band from
/// <see cref="OnEvent"/> each time it advances by 100 ms, so windows fire at record positions, not on
/// the 200 ms wall-clock period (which would make the measured interval depend on the machine's speed).
/// </summary>
public struct PunctuatedBoundedWatermarks : IWatermarkGenerator<TimedReading>
{
    private long _max;
    private long _emitted;

    public long OnEvent(in TimedReading record, long timestamp)
    {
        if (timestamp > _max)
        {
            _max = timestamp;
        }

        long watermark = _max - 10 - 1;
        if (watermark >= _emitted + 100)
        {
            _emitted = watermark;
            return watermark;
        }

        return Watermarks.NoTimestamp;
    }

    public readonly long OnPeriodicEmit() => Watermarks.NoTimestamp;
}

public struct CountReadings : IAggregateFunction<TimedReading, long, long>
{
    public readonly long CreateAccumulator() => 0;

    public readonly void Add(in TimedReading value, ref long accumulator) => accumulator++;

    public readonly long GetResult(in long accumulator) => accumulator;
}

public struct NameKeyWindow : IProcessWindowFunction<long, long, KeyWindowTotal>
{
    public readonly void Process(long key, TimeWindow window, IReadOnlyList<long> elements, ref Collector<KeyWindowTotal> output)
        => output.Collect(new KeyWindowTotal(key, window.End, elements[0]));
}

/// <summary>
/// A tumbling one-second count per key with a probe map on the source thread: it snapshots the thread's
/// allocated bytes (and how many windows had fired) at record <see cref="WarmUp"/> and at the last record.
/// </summary>
[Job("window-allocation-probe")]
public static partial class WindowAllocationProbeJob
{
    public const long Records = 2_000_000;
    public const long WarmUp = 500_000;
    public const long Keys = 100;
    public const long RecordsPerWindow = 10_000; // 10 records per ms
    public const long Start = 1_700_000_000_000;

    /// <summary>Record 0 has time Start (window [Start, Start+1s)); the first records with jitter fall into the window before.</summary>
    public static long ExpectedResults
    {
        get
        {
            var pairs = new HashSet<(long, long)>();
            var generator = default(TimedReadingGenerator);
            for (long i = 0; i < Records; i++)
            {
                TimedReading r = generator.Generate(i);
                pairs.Add((r.Key, TimeWindow.StartOf(r.Timestamp, 0, 1000)));
            }

            return pairs.Count;
        }
    }

    public static long BytesAtWarm;
    public static long BytesAtEnd;
    public static long ResultsAtWarm;
    public static long ResultsAtEnd;
    public static int ProbeThread;

    public static void Reset()
    {
        BytesAtWarm = BytesAtEnd = ResultsAtWarm = ResultsAtEnd = s_seen = 0;
        WindowAllocationProbeSink.Results = WindowAllocationProbeSink.CountSum = 0;
    }

    [Pipeline]
    private static void Define(PipelineBuilder p) => p
        .Source("readings", Sources.Generate<TimedReading, TimedReadingGenerator>(Records))
        .Map(r => Probe(r))
        .AssignTimestampsAndWatermarks(r => r.Timestamp, WatermarkStrategy.ForGenerator<TimedReading, PunctuatedBoundedWatermarks>(default))
        .KeyBy(r => r.Key)
        .Window(Windows.Tumbling(TimeSpan.FromSeconds(1)))
        .Aggregate("count", new CountReadings(), new NameKeyWindow())
        .Sink("probe", new WindowAllocationProbeSink());

    // The records do not carry their index, so the probe counts them (one subtask: a plain static).
    private static long s_seen;

    private static TimedReading Probe(TimedReading r)
    {
        long seen = ++s_seen;
        if (seen == WarmUp)
        {
            BytesAtWarm = GC.GetAllocatedBytesForCurrentThread();
            ResultsAtWarm = WindowAllocationProbeSink.Results;
            ProbeThread = Environment.CurrentManagedThreadId;
        }
        else if (seen == Records)
        {
            BytesAtEnd = GC.GetAllocatedBytesForCurrentThread();
            ResultsAtEnd = WindowAllocationProbeSink.Results;
        }

        return r;
    }
}

/// <summary>Sums the results (on the subtask's thread: plain statics, read after the job completes).</summary>
public sealed class WindowAllocationProbeSink : ISink<KeyWindowTotal, WindowAllocationProbeWriter>
{
    public static long Results;
    public static long CountSum;
    public static int SinkThread;

    public WindowAllocationProbeWriter CreateWriter(SinkContext context) => new();
}

public sealed class WindowAllocationProbeWriter : ISinkWriter<KeyWindowTotal>
{
    public void Write(in KeyWindowTotal record)
    {
        WindowAllocationProbeSink.Results++;
        WindowAllocationProbeSink.CountSum += record.Count;
        WindowAllocationProbeSink.SinkThread = Environment.CurrentManagedThreadId;
    }

    public void Flush()
    {
    }

    public void Finish() => Interlocked.MemoryBarrier();

    public void Dispose()
    {
    }
}
