using System.Runtime.CompilerServices;
using System.Threading;
using Weir;
using Weir.Connectors;

namespace Weir.Benchmarks.KeyedCount;

/// <summary>
/// Diagnostic job for <c>keyed-count-breakdown</c>: the same source, one exchange (rebalance), a sink
/// that sums the records. No key, no state: what the thread hop alone costs per record.
/// </summary>
[Job("exchange-only")]
public static partial class ExchangeOnlyJob
{
    [Pipeline]
    private static void Define(PipelineBuilder p, long count, long keys)
        => p
            .Source("clicks", Sources.Generate<Click, ClickGenerator>(count, new ClickGenerator(keys)))
            .Rebalance()
            .Sink("out", new ClickSumSink());
}

/// <summary>Sums the <see cref="Click.Value"/> of every record (Σ i over [0, N) when the input is complete).</summary>
public sealed class ClickSumSink : ISink<Click, ClickSumWriter>
{
    private static long s_sum;

    /// <summary>The sum of every writer that finished since the last <see cref="Reset"/>.</summary>
    public static long Total => Interlocked.Read(ref s_sum);

    /// <summary>Forgets the total.</summary>
    public static void Reset() => Interlocked.Exchange(ref s_sum, 0);

    /// <inheritdoc/>
    public ClickSumWriter CreateWriter(SinkContext context) => new();

    internal static void Add(long sum) => Interlocked.Add(ref s_sum, sum);
}

/// <summary>One subtask's writer.</summary>
public sealed class ClickSumWriter : ISinkWriter<Click>
{
    private long _sum;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Write(in Click record) => _sum = unchecked(_sum + record.Value);

    /// <inheritdoc/>
    public void Flush()
    {
    }

    /// <inheritdoc/>
    public void Finish() => ClickSumSink.Add(_sum);

    /// <inheritdoc/>
    public void Dispose()
    {
    }
}
