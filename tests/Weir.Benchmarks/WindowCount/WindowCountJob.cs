using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using Weir;
using Weir.Connectors;

namespace Weir.Benchmarks.WindowCount;

/// <summary>One input record of the window-count workload: a key and its event time (Unix ms). A value type.</summary>
public readonly record struct Tick(long Key, long Timestamp);

/// <summary>One output record: a key, the end of its window and the window's count.</summary>
public readonly record struct KeyWindowCount(long Key, long WindowEnd, long Count);

/// <summary>
/// Record <c>i</c> is <c>Tick(i % keys, i / eventsPerMs - jitter(i))</c> with <c>jitter(i)</c> in
/// <c>[0, disorderMs)</c>, a cheap deterministic hash of <c>i</c>. Timestamps increase by one millisecond every
/// <c>eventsPerMs</c> records and arrive up to <c>disorderMs - 1</c> ms out of order, so with a watermark
/// bound of at least <c>disorderMs</c> no record is late and every run's output is fully determined.
/// </summary>
public readonly struct TickGenerator : IRecordGenerator<Tick>
{
    private readonly long _keys;
    private readonly long _eventsPerMs;
    private readonly long _disorderMs;

    /// <summary>Creates the generator.</summary>
    public TickGenerator(long keys, long eventsPerMs, long disorderMs)
    {
        _keys = keys;
        _eventsPerMs = eventsPerMs;
        _disorderMs = disorderMs;
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Tick Generate(long index)
    {
        // A multiplicative hash of the index (upper bits): a small deterministic jitter per record.
        ulong hash = unchecked((ulong)index * 0x9E3779B97F4A7C15UL) >> 40;
        long jitter = _disorderMs <= 1 ? 0 : (long)(hash % (ulong)_disorderMs);
        return new Tick(index % _keys, Start + (index / _eventsPerMs) - jitter);
    }

    /// <summary>Event time of record 0 (a round second, so window boundaries fall on record boundaries).</summary>
    public const long Start = 1_700_000_000_000;
}

/// <summary>Counts a window's records.</summary>
public struct CountTicks : IAggregateFunction<Tick, long, long>
{
    /// <inheritdoc/>
    public readonly long CreateAccumulator() => 0;

    /// <inheritdoc/>
    public readonly void Add(in Tick value, ref long accumulator) => accumulator++;

    /// <inheritdoc/>
    public readonly long GetResult(in long accumulator) => accumulator;
}

/// <summary>Names a window's count with its key and window end.</summary>
public struct NameWindowCount : IProcessWindowFunction<long, long, KeyWindowCount>
{
    /// <inheritdoc/>
    public readonly void Process(long key, TimeWindow window, IReadOnlyList<long> elements, ref Collector<KeyWindowCount> output)
        => output.Collect(new KeyWindowCount(key, window.End, elements[0]));
}

/// <summary>
/// A tumbling one-second event-time window count per key: generated ticks, bounded out-of-orderness
/// watermarks (also emitted every 100 ms of event time), KeyBy, tumbling window, count aggregate with a window function naming key and window,
/// a checksum sink.
/// </summary>
[Job("window-count")]
public static partial class WindowCountJob
{
    [Pipeline]
    private static void Define(PipelineBuilder p, long count, long keys, long eventsPerMs, long disorderMs, long boundMs)
        => p
            .Source("ticks", Sources.Generate<Tick, TickGenerator>(count, new TickGenerator(keys, eventsPerMs, disorderMs)))
            // Watermarks also advance with the data (every 100 ms of event time), as the baseline's does
            // per record: with only the periodic 200 ms of wall time, a fast run would keep about
            // 200 ms x throughput of event time of windows open per key between two watermarks.
            .AssignTimestampsAndWatermarks(t => t.Timestamp, WatermarkStrategy.ForBoundedOutOfOrderness<Tick>(TimeSpan.FromMilliseconds(boundMs), TimeSpan.FromMilliseconds(100)))
            .KeyBy(t => t.Key)
            .Window(Windows.Tumbling(TimeSpan.FromSeconds(1)))
            .Aggregate("window-count", new CountTicks(), new NameWindowCount())
            .Sink("out", new WindowChecksumSink());
}

/// <summary>
/// The checksum of a window-count output, comparable between the loop and Weir: the number of (key,
/// window) results, the sum of their counts (must equal the records), and two weighted sums (wrapping)
/// that catch a count attributed to the wrong key or window.
/// </summary>
public readonly record struct WindowChecksum(long Results, long CountSum, long KeyWeightedSum, long WindowWeightedSum)
{
    /// <summary>Adds one result.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Add(ref long results, ref long countSum, ref long keyWeighted, ref long windowWeighted, long key, long windowEnd, long count)
    {
        results++;
        countSum += count;
        keyWeighted = unchecked(keyWeighted + ((key + 1) * count));
        windowWeighted = unchecked(windowWeighted + ((windowEnd - TickGenerator.Start) * count));
    }
}

/// <summary>A sink folding results into a <see cref="WindowChecksum"/> (static totals, reset per run; see ChecksumSink of keyed-count).</summary>
public sealed class WindowChecksumSink : ISink<KeyWindowCount, WindowChecksumWriter>
{
    private static long s_results;
    private static long s_countSum;
    private static long s_keyWeighted;
    private static long s_windowWeighted;

    /// <summary>The totals of every writer that finished since the last <see cref="Reset"/>.</summary>
    public static WindowChecksum Total => new(Interlocked.Read(ref s_results), Interlocked.Read(ref s_countSum), Interlocked.Read(ref s_keyWeighted), Interlocked.Read(ref s_windowWeighted));

    /// <summary>Forgets the totals (call before a run).</summary>
    public static void Reset()
    {
        Interlocked.Exchange(ref s_results, 0);
        Interlocked.Exchange(ref s_countSum, 0);
        Interlocked.Exchange(ref s_keyWeighted, 0);
        Interlocked.Exchange(ref s_windowWeighted, 0);
    }

    /// <inheritdoc/>
    public WindowChecksumWriter CreateWriter(SinkContext context) => new();

    internal static void Add(in WindowChecksum sums)
    {
        Interlocked.Add(ref s_results, sums.Results);
        Interlocked.Add(ref s_countSum, sums.CountSum);
        Interlocked.Add(ref s_keyWeighted, sums.KeyWeightedSum);
        Interlocked.Add(ref s_windowWeighted, sums.WindowWeightedSum);
    }
}

/// <summary>One subtask's checksum writer.</summary>
public sealed class WindowChecksumWriter : ISinkWriter<KeyWindowCount>
{
    private long _results;
    private long _countSum;
    private long _keyWeighted;
    private long _windowWeighted;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Write(in KeyWindowCount record)
        => WindowChecksum.Add(ref _results, ref _countSum, ref _keyWeighted, ref _windowWeighted, record.Key, record.WindowEnd, record.Count);

    /// <inheritdoc/>
    public void Flush()
    {
    }

    /// <inheritdoc/>
    public void Finish() => WindowChecksumSink.Add(new WindowChecksum(_results, _countSum, _keyWeighted, _windowWeighted));

    /// <inheritdoc/>
    public void Dispose()
    {
    }
}
