using System.Runtime.CompilerServices;
using System.Threading;
using Weir;
using Weir.Connectors;

namespace Weir.Benchmarks.KeyedCount;

/// <summary>One input record of the keyed-count workload (a value type: no allocation per record).</summary>
public readonly record struct Click(long Key, long Value);

/// <summary>One output record: a key and its running count.</summary>
public readonly record struct KeyCount(long Key, long Count);

/// <summary>
/// Record <c>i</c> is <c>Click(i % keys, i)</c>. Shared by every variant, so all of them process the
/// same records. The key count travels in the struct (pipeline lambdas may not capture variables).
/// </summary>
public readonly struct ClickGenerator : IRecordGenerator<Click>
{
    private readonly long _keys;

    /// <summary>Creates a generator over <paramref name="keys"/> distinct keys.</summary>
    public ClickGenerator(long keys) => _keys = keys;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Click Generate(long index) => new(index % _keys, index);
}

/// <summary>Counts records per key in keyed state and emits (key, running count) for every record.</summary>
public struct CountPerKey : IKeyedProcessFunction<long, Click, KeyCount>
{
    [State("count")]
    private ValueState<long> _count;

    /// <inheritdoc/>
    public void Process(in Click value, ProcessContext<long> context, ref Collector<KeyCount> output)
    {
        long count = _count.Value + 1;
        _count.Value = count;
        output.Collect(new KeyCount(value.Key, count));
    }
}

/// <summary>
/// The keyed-count job of the benchmark contract, verbatim: generator source, KeyBy, keyed count,
/// discard sink. Measured with <c>--sink discard</c>; its output cannot be checked.
/// </summary>
[Job("keyed-count")]
public static partial class KeyedCountJob
{
    [Pipeline]
    private static void Define(PipelineBuilder p, long count, long keys)
        => p
            .Source("clicks", Sources.Generate<Click, ClickGenerator>(count, new ClickGenerator(keys)))
            .KeyBy(c => c.Key)
            .Process("count", new CountPerKey())
            .Sink("out", Sinks.Discard<KeyCount>());
}

/// <summary>
/// The same job with a checksum sink instead of the discard sink, so every measured run is also
/// checked against the hand-written loop (the default, <c>--sink checksum</c>).
/// </summary>
[Job("keyed-count-checked")]
public static partial class KeyedCountCheckedJob
{
    [Pipeline]
    private static void Define(PipelineBuilder p, long count, long keys)
        => p
            .Source("clicks", Sources.Generate<Click, ClickGenerator>(count, new ClickGenerator(keys)))
            .KeyBy(c => c.Key)
            .Process("count", new CountPerKey())
            .Sink("out", new ChecksumSink());
}

/// <summary>The checksum of a keyed-count output: comparable between all variants.</summary>
/// <param name="Records">Output records (one per input record).</param>
/// <param name="CountSum">Sum of the emitted running counts: Σ over keys of n(n+1)/2.</param>
/// <param name="KeyWeightedSum">Σ key × count over the output (wrapping): catches counts attributed to the wrong key.</param>
public readonly record struct Checksum(long Records, long CountSum, long KeyWeightedSum)
{
    /// <summary>The checksum of a final per-key count table: what any correct run must produce.</summary>
    public static Checksum OfFinalCounts(System.Collections.Generic.IEnumerable<System.Collections.Generic.KeyValuePair<long, long>> counts)
    {
        long records = 0, countSum = 0, keyWeighted = 0;
        foreach ((long key, long n) in counts)
        {
            long triangle = unchecked(n * (n + 1) / 2);
            records += n;
            countSum = unchecked(countSum + triangle);
            keyWeighted = unchecked(keyWeighted + (key * triangle));
        }

        return new Checksum(records, countSum, keyWeighted);
    }
}

/// <summary>
/// A sink that folds its records into a <see cref="Checksum"/>: each writer sums locally and adds its
/// sums to the process-wide totals with <see cref="Interlocked"/> at <see cref="ISinkWriter{T}.Finish"/>.
/// The totals are static because a [Pipeline] copies sink expressions into the generated plan (it
/// cannot reference an object of the harness); the harness resets them before each run.
/// </summary>
public sealed class ChecksumSink : ISink<KeyCount, ChecksumWriter>
{
    private static long s_records;
    private static long s_countSum;
    private static long s_keyWeightedSum;

    /// <summary>The totals of every writer that finished since the last <see cref="Reset"/>.</summary>
    public static Checksum Total => new(Interlocked.Read(ref s_records), Interlocked.Read(ref s_countSum), Interlocked.Read(ref s_keyWeightedSum));

    /// <summary>Forgets the totals (call before a run).</summary>
    public static void Reset()
    {
        Interlocked.Exchange(ref s_records, 0);
        Interlocked.Exchange(ref s_countSum, 0);
        Interlocked.Exchange(ref s_keyWeightedSum, 0);
    }

    /// <inheritdoc/>
    public ChecksumWriter CreateWriter(SinkContext context) => new();

    internal static void Add(long records, long countSum, long keyWeightedSum)
    {
        Interlocked.Add(ref s_records, records);
        Interlocked.Add(ref s_countSum, countSum);
        Interlocked.Add(ref s_keyWeightedSum, keyWeightedSum);
    }
}

/// <summary>One subtask's checksum writer.</summary>
public sealed class ChecksumWriter : ISinkWriter<KeyCount>
{
    private long _records;
    private long _countSum;
    private long _keyWeightedSum;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Write(in KeyCount record)
    {
        _records++;
        _countSum = unchecked(_countSum + record.Count);
        _keyWeightedSum = unchecked(_keyWeightedSum + (record.Key * record.Count));
    }

    /// <inheritdoc/>
    public void Flush()
    {
    }

    /// <inheritdoc/>
    public void Finish() => ChecksumSink.Add(_records, _countSum, _keyWeightedSum);

    /// <inheritdoc/>
    public void Dispose()
    {
    }
}
