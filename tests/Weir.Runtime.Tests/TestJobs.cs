using System;
using System.Threading;
using Weir;
using Weir.Connectors;

namespace Weir.Runtime.Tests;

public readonly record struct Reading(long Sensor, long Value);

public readonly record struct SensorTotal(long Sensor, long Total, long Count);

/// <summary>Reading i: sensor i % 100, value i.</summary>
public struct ReadingGenerator : IRecordGenerator<Reading>
{
    public Reading Generate(long index) => new(index % 100, index);
}

/// <summary>Keeps a running sum and count per sensor in two value states.</summary>
public struct SumPerSensor : IKeyedProcessFunction<long, Reading, SensorTotal>
{
    [State("total")]
    private ValueState<long> _total;

    [State]
    private ValueState<long> _count;

    public void Process(in Reading value, ProcessContext<long> context, ref Collector<SensorTotal> output)
    {
        long total = _total.Value + value.Value;
        long count = _count.Value + 1;
        _total.Value = total;
        _count.Value = count;
        output.Collect(new SensorTotal(context.Key, total, count));
    }
}

/// <summary>
/// Measures what the warmed-up hot path allocates: map -> filter -> key-by on the source thread, and
/// the keyed process -> sink on the receiving thread. Each thread snapshots its own allocated bytes
/// once warm and again at the last record.
/// </summary>
[Job("allocation-probe")]
public static partial class AllocationProbeJob
{
    public const long Records = 2_000_000;
    public const long WarmUp = 500_000;

    public static long SourceBytesAtWarm;
    public static long SourceBytesAtEnd;

    [Pipeline]
    private static void Define(PipelineBuilder p) => p
        .Source("readings", Sources.Generate<Reading, ReadingGenerator>(Records))
        .Map(r => Probe(r))
        .Filter(r => r.Value >= 0)
        .KeyBy(r => r.Sensor)
        .Process("sum", new SumPerSensor())
        .Sink("probe", new AllocationProbeSink(Records, WarmUp));

    private static Reading Probe(Reading r)
    {
        if (r.Value == WarmUp)
        {
            SourceBytesAtWarm = GC.GetAllocatedBytesForCurrentThread();
        }
        else if (r.Value == Records - 1)
        {
            SourceBytesAtEnd = GC.GetAllocatedBytesForCurrentThread();
        }

        return r;
    }
}

/// <summary>A sink that records the allocated bytes of its own thread between warm-up and the last record.</summary>
public sealed class AllocationProbeSink : ISink<SensorTotal, AllocationProbeWriter>
{
    private readonly long _records;
    private readonly long _warmUp;

    public AllocationProbeSink(long records, long warmUp)
    {
        _records = records;
        _warmUp = warmUp;
    }

    public static long SinkBytesAtWarm;
    public static long SinkBytesAtEnd;
    public static long Received;

    public AllocationProbeWriter CreateWriter(SinkContext context) => new(_records, _warmUp);
}

public sealed class AllocationProbeWriter : ISinkWriter<SensorTotal>
{
    private readonly long _records;
    private readonly long _warmUp;
    private long _received;

    public AllocationProbeWriter(long records, long warmUp)
    {
        _records = records;
        _warmUp = warmUp;
    }

    public void Write(in SensorTotal record)
    {
        _received++;
        if (_received == _warmUp)
        {
            AllocationProbeSink.SinkBytesAtWarm = GC.GetAllocatedBytesForCurrentThread();
        }
        else if (_received == _records)
        {
            AllocationProbeSink.SinkBytesAtEnd = GC.GetAllocatedBytesForCurrentThread();
        }
    }

    public void Flush()
    {
    }

    public void Finish() => Interlocked.Exchange(ref AllocationProbeSink.Received, _received);

    public void Dispose()
    {
    }
}

/// <summary>Keyed sums with reduce and aggregate side by side, at a parallelism given per run.</summary>
[Job("sums")]
public static partial class SumsJob
{
    public static readonly CollectedOutput<Reading> Reduced = new();
    public static readonly CollectedOutput<SensorTotal> Aggregated = new();
    public static readonly CollectedOutput<SensorTotal> Processed = new();

    [Pipeline]
    private static void Define(PipelineBuilder p, long records)
    {
        var readings = p.Source("readings", Sources.Generate<Reading, ReadingGenerator>(records));
        readings.KeyBy(r => r.Sensor).Reduce("reduce", (a, b) => new Reading(a.Sensor, a.Value + b.Value)).Sink("reduced", Sinks.Collect(Reduced));
        readings.KeyBy(r => r.Sensor).Aggregate("aggregate", new SumAggregate()).Sink("aggregated", Sinks.Collect(Aggregated));
        readings.KeyBy(r => r.Sensor).Process("process", new SumPerSensor()).Sink("processed", Sinks.Collect(Processed));
    }
}

public struct SumAggregate : IAggregateFunction<Reading, (long Sensor, long Total, long Count), SensorTotal>
{
    public (long Sensor, long Total, long Count) CreateAccumulator() => (0, 0, 0);

    public void Add(in Reading value, ref (long Sensor, long Total, long Count) accumulator)
        => accumulator = (value.Sensor, accumulator.Total + value.Value, accumulator.Count + 1);

    public SensorTotal GetResult(in (long Sensor, long Total, long Count) accumulator)
        => new(accumulator.Sensor, accumulator.Total, accumulator.Count);
}

/// <summary>Union, rebalance and broadcast exchanges, with a fixed parallelism on one operator.</summary>
[Job("exchanges")]
public static partial class ExchangesJob
{
    public static readonly CollectedOutput<long> Unioned = new();
    public static readonly CollectedOutput<long> Broadcasted = new();

    [Pipeline]
    private static void Define(PipelineBuilder p, long count)
    {
        var evens = p.Source("evens", Sources.Generate<long, EvenGenerator>(count));
        var odds = p.Source("odds", Sources.Generate<long, OddGenerator>(count)).Parallelism(1);
        evens.Union(odds).Rebalance().Map(x => x * 10).Parallelism(3).Sink("unioned", Sinks.Collect(Unioned)).Parallelism(3);
        p.Source("ticks", Sources.Generate<long, EvenGenerator>(10)).Parallelism(1).Broadcast().Filter(x => x >= 0).Parallelism(3).Sink("broadcasted", Sinks.Collect(Broadcasted)).Parallelism(3);
    }
}

public struct EvenGenerator : IRecordGenerator<long>
{
    public long Generate(long index) => index * 2;
}

public struct OddGenerator : IRecordGenerator<long>
{
    public long Generate(long index) => (index * 2) + 1;
}

/// <summary>A keyed process function that throws on one key, to check how failures are reported.</summary>
[Job("failing")]
public static partial class FailingJob
{
    [Pipeline]
    private static void Define(PipelineBuilder p, long records) => p
        .Source("readings", Sources.Generate<Reading, ReadingGenerator>(records))
        .KeyBy(r => r.Sensor)
        .Process("explode-on-42", new ExplodeOn42())
        .Sink("discard", Sinks.Discard<long>());
}

public struct ExplodeOn42 : IKeyedProcessFunction<long, Reading, long>
{
    public void Process(in Reading value, ProcessContext<long> context, ref Collector<long> output)
    {
        if (context.Key == 42 && value.Value > 1000)
        {
            throw new InvalidOperationException("sensor 42 is on fire");
        }

        output.Collect(value.Value);
    }
}

/// <summary>An unbounded keyed count, stopped from outside.</summary>
[Job("unbounded")]
public static partial class UnboundedJob
{
    public static readonly CollectedOutput<SensorTotal> Output = new();

    [Pipeline]
    private static void Define(PipelineBuilder p) => p
        .Source("readings", Sources.GenerateUnbounded<Reading, ReadingGenerator>())
        .KeyBy(r => r.Sensor)
        .Process("sum", new SumPerSensor())
        .Sink("out", Sinks.Collect(Output));
}

/// <summary>Composite (tuple) and string keys.</summary>
[Job("composite-keys")]
public static partial class CompositeKeyJob
{
    public static readonly CollectedOutput<(string, long)> Output = new();

    [Pipeline]
    private static void Define(PipelineBuilder p) => p
        .Source("words", Sources.FromArray(new[] { "a", "b", "a", "c", "a", "b" }))
        .Map(w => (w, (long)w.Length))
        .KeyBy(pair => pair)
        .Reduce("counts", (a, b) => (a.Item1, a.Item2 + b.Item2))
        .Sink("out", Sinks.Collect(Output));
}

/// <summary>
/// Functions that emit zero, one or many records per input: record i of the source becomes i % 40
/// copies (more than the collector's first buffer holds), and the keyed process emits 0..3 records.
/// </summary>
[Job("fan-out")]
public static partial class FanOutJob
{
    public static readonly CollectedOutput<(long Key, long Value, int Copy)> Output = new();

    [Pipeline]
    private static void Define(PipelineBuilder p, long records) => p
        .Source("numbers", Sources.Generate<Reading, ReadingGenerator>(records))
        .FlatMap<Reading>(Copies)
        .KeyBy(r => r.Sensor)
        .Process("echo", new EchoSome())
        .Sink("out", Sinks.Collect(Output));

    private static void Copies(Reading reading, ref Collector<Reading> output)
    {
        for (int copy = 0; copy < reading.Value % 40; copy++)
        {
            output.Collect(reading);
        }
    }
}

/// <summary>Emits (key, value, 0..n-1) where n = value % 4 for each record.</summary>
public struct EchoSome : IKeyedProcessFunction<long, Reading, (long Key, long Value, int Copy)>
{
    public void Process(in Reading value, ProcessContext<long> context, ref Collector<(long Key, long Value, int Copy)> output)
    {
        for (int copy = 0; copy < value.Value % 4; copy++)
        {
            output.Collect((context.Key, value.Value, copy));
        }
    }
}

/// <summary>Every keyed state kind in one generated operator, one of them with a time-to-live.</summary>
[Job("every-state-kind")]
public static partial class EveryStateKindJob
{
    public static readonly CollectedOutput<(long Key, long Last, int History, int Distinct, long Sum, double Average, long Recent)> Output = new();

    [Pipeline]
    private static void Define(PipelineBuilder p, long records) => p
        .Source("readings", Sources.Generate<Reading, ReadingGenerator>(records))
        .KeyBy(r => r.Sensor)
        .Process("kinds", new EveryStateKind())
        .Sink("out", Sinks.Collect(Output));
}

public struct EveryStateKind : IKeyedProcessFunction<long, Reading, (long Key, long Last, int History, int Distinct, long Sum, double Average, long Recent)>
{
    [State] private ValueState<long> _last;
    [State] private ListState<long> _history;
    [State] private MapState<long, int> _byLastDigit;
    [State] private ReducingState<long, Sum> _sum;
    [State] private AggregatingState<long, (long Sum, long Count), double, Average> _average;
    [State(TimeToLive = "1h", TtlUpdate = StateTtlUpdate.OnReadAndWrite)] private ValueState<long> _recent;

    public void Process(in Reading value, ProcessContext<long> context, ref Collector<(long Key, long Last, int History, int Distinct, long Sum, double Average, long Recent)> output)
    {
        _last.Value = value.Value;
        _history.Add(value.Value);
        long digit = value.Value % 10;
        _byLastDigit.Put(digit, _byLastDigit.Get(digit) + 1);
        _sum.Add(value.Value);
        _average.Add(value.Value);
        _recent.Value = _recent.Value + 1;
        output.Collect((context.Key, _last.Value, _history.Count, _byLastDigit.Count, _sum.Value, _average.Value, _recent.Value));
    }
}

/// <summary>A keyed function that blocks on one record until released: a stalled subtask.</summary>
[Job("stalling")]
public static partial class StallingJob
{
    public static readonly ManualResetEventSlim Release = new(false);

    [Pipeline]
    private static void Define(PipelineBuilder p, long records) => p
        .Source("readings", Sources.Generate<Reading, ReadingGenerator>(records))
        .KeyBy(r => r.Sensor)
        .Process("stall-on-500", new StallOn500())
        .Sink("discard", Sinks.Discard<long>());
}

public struct StallOn500 : IKeyedProcessFunction<long, Reading, long>
{
    public void Process(in Reading value, ProcessContext<long> context, ref Collector<long> output)
    {
        if (value.Value == 500)
        {
            StallingJob.Release.Wait();
        }

        output.Collect(value.Value);
    }
}

/// <summary>Version 1 of a job whose keyed state is a count (<c>long</c>).</summary>
[Job("schema-evolution")]
public static partial class SchemaV1Job
{
    [Pipeline]
    private static void Define(PipelineBuilder p) => p
        .Source("readings", Sources.GenerateUnbounded<Reading, ReadingGenerator>())
        .KeyBy(r => r.Sensor)
        .Process("counter", new CountAsLong())
        .Sink("discard", Sinks.Discard<long>());
}

/// <summary>Version 2 of the same job: the same operator and state name, now holding a <c>string</c>.</summary>
[Job("schema-evolution")]
public static partial class SchemaV2Job
{
    [Pipeline]
    private static void Define(PipelineBuilder p) => p
        .Source("readings", Sources.GenerateUnbounded<Reading, ReadingGenerator>())
        .KeyBy(r => r.Sensor)
        .Process("counter", new CountAsText())
        .Sink("discard", Sinks.Discard<long>());
}

public struct CountAsLong : IKeyedProcessFunction<long, Reading, long>
{
    [State("count")]
    private ValueState<long> _count;

    public void Process(in Reading value, ProcessContext<long> context, ref Collector<long> output)
    {
        _count.Value++;
        output.Collect(_count.Value);
    }
}

public struct CountAsText : IKeyedProcessFunction<long, Reading, long>
{
    [State("count")]
    private ValueState<string> _count;

    public void Process(in Reading value, ProcessContext<long> context, ref Collector<long> output)
    {
        _count.Value = (_count.Value ?? string.Empty) + "|";
        output.Collect(_count.Value.Length);
    }
}
