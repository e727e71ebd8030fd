using System;
using System.Collections.Generic;
using System.Threading;
using Weir;
using Weir.Checkpointing.Coordinator;
using Weir.Checkpointing.Subtasks;
using Weir.Connectors;
using Weir.Time;

namespace Weir.Runtime.Tests;

/// <summary>An event of a key with a value and an event-time timestamp (Unix milliseconds).</summary>
public readonly record struct TimedEvent(long Key, long Value, long Ts) : ISpanFormattable
{
    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
        => destination.TryWrite(System.Globalization.CultureInfo.InvariantCulture, $"{Key}\t{Value}\t{Ts}", out charsWritten);

    public string ToString(string? format, IFormatProvider? formatProvider) => ToString();

    public override string ToString() => FormattableString.Invariant($"{Key}\t{Value}\t{Ts}");
}

/// <summary>One window's result: key, window bounds, sum and count of its values.</summary>
public readonly record struct WindowSum(long Key, long Start, long End, long Sum, long Count) : ISpanFormattable
{
    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
        => destination.TryWrite(System.Globalization.CultureInfo.InvariantCulture, $"{Key}\t{Start}\t{End}\t{Sum}\t{Count}", out charsWritten);

    public string ToString(string? format, IFormatProvider? formatProvider) => ToString();

    public override string ToString() => FormattableString.Invariant($"{Key}\t{Start}\t{End}\t{Sum}\t{Count}");

    public static WindowSum Parse(string line)
    {
        string[] p = line.Split('\t');
        return new(long.Parse(p[0]), long.Parse(p[1]), long.Parse(p[2]), long.Parse(p[3]), long.Parse(p[4]));
    }
}

/// <summary>A fired timer: key, timer timestamp, the key as its state saw it, the key's event count then, and the watermark.</summary>
public readonly record struct TimerFired(long Key, long Timestamp, long StateOwner, long Count, long Watermark) : ISpanFormattable
{
    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
        => destination.TryWrite(System.Globalization.CultureInfo.InvariantCulture, $"{Key}\t{Timestamp}\t{StateOwner}\t{Count}\t{Watermark}", out charsWritten);

    public string ToString(string? format, IFormatProvider? formatProvider) => ToString();

    public override string ToString() => FormattableString.Invariant($"{Key}\t{Timestamp}\t{StateOwner}\t{Count}\t{Watermark}");

    public static TimerFired Parse(string line)
    {
        string[] p = line.Split('\t');
        return new(long.Parse(p[0]), long.Parse(p[1]), long.Parse(p[2]), long.Parse(p[3]), long.Parse(p[4]));
    }
}

/// <summary>
/// The deterministic input of the event-time jobs: record i has key i % <see cref="Keys"/>, value i and a
/// timestamp growing 2 ms per record, up to 49 ms early (bounded disorder, below the 100 ms watermark
/// delay, so no record is late), with a 1 s pause every 500 records (so session windows close).
/// </summary>
public static class EventTimeInput
{
    public const int Keys = 10;
    public const long Records = 20_000;
    public const long MaxDisorderMs = 49;
    public const long WatermarkDelayMs = 100;
    public const long TimerBucketMs = 100;

    /// <summary>
    /// The windowed jobs' watermarks: periodic, and also every 100 ms of event time as the data
    /// advances, so windows fire during the input however fast or slow the machine runs it.
    /// </summary>
    public static WatermarkStrategy<TimedEvent, BoundedOutOfOrdernessWatermarks<TimedEvent>> Watermarks
        => WatermarkStrategy.ForBoundedOutOfOrderness<TimedEvent>(TimeSpan.FromMilliseconds(WatermarkDelayMs), TimeSpan.FromMilliseconds(100));

    public static TimedEvent At(long i)
    {
        ulong x = (ulong)(i + 1) * 0x9E3779B97F4A7C15UL;
        x ^= x >> 31;
        x *= 0xBF58476D1CE4E5B9UL;
        x ^= x >> 29;
        long jitter = (long)(x % (ulong)(MaxDisorderMs + 1));
        long ts = 10_000 + (2 * i) - jitter + ((i / 500) * 1_000);
        return new TimedEvent(i % Keys, i, ts);
    }

    public static IEnumerable<TimedEvent> All()
    {
        for (long i = 0; i < Records; i++)
        {
            yield return At(i);
        }
    }

    /// <summary>The near timer of a bucket: its last millisecond.</summary>
    public static long NearTimer(long bucket) => (bucket * TimerBucketMs) + TimerBucketMs - 1;

    /// <summary>A far timer (fires only at the end of input) registered by buckets b with b % 4 == 1.</summary>
    public static long FarTimer(long bucket) => 1_000_000_000 + bucket;
}

public struct TimedEventGenerator : IRecordGenerator<TimedEvent>
{
    public TimedEvent Generate(long index) => EventTimeInput.At(index);
}

/// <summary>
/// Failure injection and pacing for the event-time jobs: <see cref="Pass"/> sleeps a little every few
/// records (so checkpoints complete during the input), and throws once, at the first record from the
/// armed count on that comes after a checkpoint has completed.
/// </summary>
public static class EventTimeFaults
{
    private static long s_records;
    private static long s_failAt = long.MaxValue;
    private static long s_slowFrom = long.MaxValue;
    private static int s_fired;
    private static long s_completed;
    private static long s_windows;
    private static long s_windowsBeforeFailure = -1;

    public static bool Fired => Volatile.Read(ref s_fired) == 1;

    public static long CompletedCheckpoints => Interlocked.Read(ref s_completed);

    /// <summary>Records passed since <see cref="Arm"/>, over all attempts and subtasks.</summary>
    public static long RecordsPassed => Interlocked.Read(ref s_records);

    /// <summary>Window results that reached the sink before the injected failure fired (-1 if it did not fire).</summary>
    public static long WindowsBeforeFailure => Interlocked.Read(ref s_windowsBeforeFailure);

    /// <summary>
    /// Arms the failure at the <paramref name="record"/>-th record from now (over all attempts and
    /// subtasks); from the <paramref name="slowFrom"/>-th on, every record takes a millisecond, so a
    /// test can stop the job part-way however fast the machine runs it.
    /// </summary>
    public static void Arm(long record, long slowFrom = long.MaxValue)
    {
        Interlocked.Exchange(ref s_slowFrom, slowFrom);
        Interlocked.Exchange(ref s_records, 0);
        Interlocked.Exchange(ref s_completed, 0);
        Interlocked.Exchange(ref s_fired, 0);
        Interlocked.Exchange(ref s_windows, 0);
        Interlocked.Exchange(ref s_windowsBeforeFailure, -1);
        Interlocked.Exchange(ref s_failAt, record);
    }

    public static TimedEvent Pass(TimedEvent e)
    {
        long n = Interlocked.Increment(ref s_records);
        if (n % 16 == 0 || n >= Volatile.Read(ref s_slowFrom))
        {
            Thread.Sleep(1);
        }

        if (n >= Volatile.Read(ref s_failAt) && Volatile.Read(ref s_fired) == 0)
        {
            if (Interlocked.Read(ref s_completed) == 0)
            {
                // Past the failure point before any checkpoint completed (a slow, shared machine): slow
                // down, between records, so that one completes before the input ends.
                Thread.Sleep(2);
            }
            else if (Interlocked.CompareExchange(ref s_fired, 1, 0) == 0)
            {
                Interlocked.Exchange(ref s_windowsBeforeFailure, Interlocked.Read(ref s_windows));
                throw new InvalidOperationException($"injected event-time failure at record {e.Value}");
            }
        }

        return e;
    }

    /// <summary>Counts a window result on its way to the sink.</summary>
    public static WindowSum Emitted(WindowSum window)
    {
        Interlocked.Increment(ref s_windows);
        return window;
    }

    /// <summary>Counts completed checkpoints (metadata durable) without failing any.</summary>
    public sealed class CompletionProbe : ICheckpointFaults
    {
        public void DuringSyncPhase(SubtaskId subtask, long checkpointId)
        {
        }

        public void AfterSyncPhase(SubtaskId subtask, long checkpointId)
        {
        }

        public void DuringAsyncPhase(SubtaskId subtask, long checkpointId)
        {
        }

        public void BeforeMetadata(long checkpointId)
        {
        }

        public void BeforeNotifyComplete(long checkpointId) => Interlocked.Increment(ref s_completed);
    }
}

/// <summary>Sum and count of a window's values; mergeable, so it serves session windows too.</summary>
public struct SumEvents : IMergeableAggregateFunction<TimedEvent, (long Sum, long Count), (long Sum, long Count)>
{
    public readonly (long Sum, long Count) CreateAccumulator() => (0, 0);

    public readonly void Add(in TimedEvent value, ref (long Sum, long Count) accumulator)
        => accumulator = (accumulator.Sum + value.Value, accumulator.Count + 1);

    public readonly (long Sum, long Count) GetResult(in (long Sum, long Count) accumulator) => accumulator;

    public readonly (long Sum, long Count) Merge(in (long Sum, long Count) first, in (long Sum, long Count) second)
        => (first.Sum + second.Sum, first.Count + second.Count);
}

/// <summary>Names an aggregated window with its key and bounds.</summary>
public struct NameWindowSum : IProcessWindowFunction<long, (long Sum, long Count), WindowSum>
{
    public readonly void Process(long key, TimeWindow window, IReadOnlyList<(long Sum, long Count)> elements, ref Collector<WindowSum> output)
        => output.Collect(new WindowSum(key, window.Start, window.End, elements[0].Sum, elements[0].Count));
}

/// <summary>Sums a whole window's records (a full-window function).</summary>
public struct SumWindowEvents : IProcessWindowFunction<long, TimedEvent, WindowSum>
{
    public readonly void Process(long key, TimeWindow window, IReadOnlyList<TimedEvent> elements, ref Collector<WindowSum> output)
    {
        long sum = 0;
        foreach (TimedEvent e in elements)
        {
            sum += e.Value;
        }

        output.Collect(new WindowSum(key, window.Start, window.End, sum, elements.Count));
    }
}

[Job("event-time-tumbling-sums")]
public static partial class EventTimeTumblingSumsJob
{
    public const long SizeMs = 100;

    [Pipeline]
    private static void Define(PipelineBuilder p, string output) => p
        .Source("events", Sources.Generate<TimedEvent, TimedEventGenerator>(EventTimeInput.Records))
        .Map(EventTimeFaults.Pass)
        .AssignTimestampsAndWatermarks(e => e.Ts, EventTimeInput.Watermarks)
        .KeyBy(e => e.Key)
        .Window(Windows.Tumbling(TimeSpan.FromMilliseconds(SizeMs)))
        .Aggregate("tumbling-sums", new SumEvents(), new NameWindowSum())
        .Map(EventTimeFaults.Emitted)
        .Sink("sums", Sinks.TextFiles<WindowSum>(output));
}

[Job("event-time-sliding-sums")]
public static partial class EventTimeSlidingSumsJob
{
    public const long SizeMs = 200;
    public const long SlideMs = 50;

    [Pipeline]
    private static void Define(PipelineBuilder p, string output) => p
        .Source("events", Sources.Generate<TimedEvent, TimedEventGenerator>(EventTimeInput.Records))
        .Map(EventTimeFaults.Pass)
        .AssignTimestampsAndWatermarks(e => e.Ts, EventTimeInput.Watermarks)
        .KeyBy(e => e.Key)
        .Window(Windows.Sliding(TimeSpan.FromMilliseconds(SizeMs), TimeSpan.FromMilliseconds(SlideMs)))
        .Process("sliding-sums", new SumWindowEvents())
        .Map(EventTimeFaults.Emitted)
        .Sink("sums", Sinks.TextFiles<WindowSum>(output));
}

[Job("event-time-session-sums")]
public static partial class EventTimeSessionSumsJob
{
    public const long GapMs = 300;

    [Pipeline]
    private static void Define(PipelineBuilder p, string output) => p
        .Source("events", Sources.Generate<TimedEvent, TimedEventGenerator>(EventTimeInput.Records))
        .Map(EventTimeFaults.Pass)
        .AssignTimestampsAndWatermarks(e => e.Ts, EventTimeInput.Watermarks)
        .KeyBy(e => e.Key)
        .Window(Windows.Session(TimeSpan.FromMilliseconds(GapMs)))
        .Aggregate("session-sums", new SumEvents(), new NameWindowSum())
        .Map(EventTimeFaults.Emitted)
        .Sink("sums", Sinks.TextFiles<WindowSum>(output));
}

/// <summary>
/// Per key: counts events and remembers the key in state; registers the near timer of the event's
/// 100 ms bucket (registered by several events, fires once), a far timer for buckets b with b % 4 == 1,
/// and deletes the far timer of bucket b - 2 from buckets b with b % 8 == 3. Each firing emits the key's
/// state as the timer sees it.
/// </summary>
public partial struct TimerProbe : IKeyedProcessFunction<long, TimedEvent, TimerFired>, IKeyedTimerFunction<long, TimerFired>
{
    [State("count")]
    private ValueState<long> _count;

    [State("owner")]
    private ValueState<long> _owner;

    public void Process(in TimedEvent value, ProcessContext<long> context, ref Collector<TimerFired> output)
    {
        _count.Value = _count.Value + 1;
        _owner.Value = value.Key + 1;
        long bucket = value.Ts / EventTimeInput.TimerBucketMs;
        context.RegisterEventTimeTimer(EventTimeInput.NearTimer(bucket));
        if (bucket % 4 == 1)
        {
            context.RegisterEventTimeTimer(EventTimeInput.FarTimer(bucket));
        }

        if (bucket % 8 == 3)
        {
            context.DeleteEventTimeTimer(EventTimeInput.FarTimer(bucket - 2));
        }
    }

    public void OnTimer(long timestamp, ProcessContext<long> context, ref Collector<TimerFired> output)
        => output.Collect(new TimerFired(context.Key, timestamp, _owner.Value - 1, _count.Value, context.CurrentWatermark));
}

/// <summary>
/// Keyed event-time timers. The source runs at parallelism 1, so each key's events reach the timer
/// operator in generation order (only the bounded timestamp disorder remains).
/// </summary>
[Job("event-time-timers")]
public static partial class EventTimeTimersJob
{
    [Pipeline]
    private static void Define(PipelineBuilder p, string output) => p
        .Source("events", Sources.Generate<TimedEvent, TimedEventGenerator>(EventTimeInput.Records)).Parallelism(1)
        .Map(EventTimeFaults.Pass).Parallelism(1)
        .AssignTimestampsAndWatermarks(e => e.Ts, WatermarkStrategy.ForBoundedOutOfOrderness<TimedEvent>(TimeSpan.FromMilliseconds(EventTimeInput.WatermarkDelayMs))).Parallelism(1)
        .KeyBy(e => e.Key)
        .Process("timers", new TimerProbe())
        .Sink("fired", Sinks.TextFiles<TimerFired>(output));
}

/// <summary>A punctuated generator: the watermark follows every record (largest timestamp - 1), so lateness is exact.</summary>
public struct PunctuatedWatermarks : IWatermarkGenerator<TimedEvent>
{
    private long _max;

    public long OnEvent(in TimedEvent record, long timestamp)
    {
        if (timestamp > _max)
        {
            _max = timestamp;
        }

        return _max - 1;
    }

    public readonly long OnPeriodicEmit() => Watermarks.NoTimestamp;
}

/// <summary>The inputs of the late-data jobs (key, value, timestamp), in arrival order.</summary>
public static class EventTimeLateInput
{
    public static readonly TimedEvent[] WithoutLateness =
    [
        new(1, 10, 100),
        new(1, 20, 900),
        new(2, 5, 500),
        new(1, 30, 1500),   // watermark 1499: [0, 1000) fires for keys 1 and 2
        new(1, 1000, 50),   // late for [0, 1000)
        new(2, 7, 999),     // late for [0, 1000)
        new(1, 40, 1999),
    ];

    public static readonly TimedEvent[] WithLateness =
    [
        new(1, 10, 100),
        new(1, 20, 900),
        new(1, 30, 1500),   // watermark 1499: [0, 1000) fires (30)
        new(1, 1000, 50),   // within the lateness of [0, 1000): fires again (1030)
        new(1, 5, 2600),    // watermark 2599: [1000, 2000) fires (30); [0, 1000) is cleaned up
        new(1, 7, 60),      // past the lateness of [0, 1000): late output
        new(1, 9, 1200),    // within the lateness of [1000, 2000): fires again (39)
    ];
}

[Job("event-time-late-data")]
public static partial class EventTimeLateDataJob
{
    public static readonly CollectedOutput<WindowSum> Sums = new();
    public static readonly CollectedOutput<TimedEvent> Late = new();

    [Pipeline]
    private static void Define(PipelineBuilder p)
    {
        var sums = p
            .Source("events", Sources.FromArray(EventTimeLateInput.WithoutLateness))
            .AssignTimestampsAndWatermarks(e => e.Ts, WatermarkStrategy.ForGenerator<TimedEvent, PunctuatedWatermarks>(new PunctuatedWatermarks()))
            .KeyBy(e => e.Key)
            .Window(Windows.Tumbling(TimeSpan.FromSeconds(1)))
            .SideOutputLateData(out var late)
            .Aggregate("window-sums", new SumEvents(), new NameWindowSum());
        sums.Sink("sums", Sinks.Collect(Sums));
        late.Sink("late", Sinks.Collect(Late));
    }
}

[Job("event-time-allowed-lateness")]
public static partial class EventTimeAllowedLatenessJob
{
    public static readonly CollectedOutput<WindowSum> Sums = new();
    public static readonly CollectedOutput<TimedEvent> Late = new();

    [Pipeline]
    private static void Define(PipelineBuilder p)
    {
        var sums = p
            .Source("events", Sources.FromArray(EventTimeLateInput.WithLateness))
            .AssignTimestampsAndWatermarks(e => e.Ts, WatermarkStrategy.ForGenerator<TimedEvent, PunctuatedWatermarks>(new PunctuatedWatermarks()))
            .KeyBy(e => e.Key)
            .Window(Windows.Tumbling(TimeSpan.FromSeconds(1)))
            .AllowedLateness(TimeSpan.FromSeconds(1))
            .SideOutputLateData(out var late)
            .Aggregate("window-sums", new SumEvents(), new NameWindowSum());
        sums.Sink("sums", Sinks.Collect(Sums));
        late.Sink("late", Sinks.Collect(Late));
    }
}

/// <summary>
/// Session windows (gap 300 ms) with an allowed lateness of 1 s: session A [10000, 10300) has its
/// cleanup timer at 11299, the same millisecond as session B [11000, 11300)'s firing timer; a third
/// record then extends A (merging it into [10000, 10550)) before either fires.
/// </summary>
[Job("event-time-session-lateness")]
public static partial class EventTimeSessionLatenessJob
{
    public static readonly CollectedOutput<WindowSum> Sums = new();

    public static readonly TimedEvent[] Input =
    [
        new(1, 1, 10_000),
        new(1, 2, 11_000),
        new(1, 4, 10_250),
    ];

    [Pipeline]
    private static void Define(PipelineBuilder p) => p
        .Source("events", Sources.FromArray(Input))
        .AssignTimestampsAndWatermarks(e => e.Ts, WatermarkStrategy.ForBoundedOutOfOrderness<TimedEvent>(TimeSpan.FromSeconds(30)))
        .KeyBy(e => e.Key)
        .Window(Windows.Session(TimeSpan.FromMilliseconds(300)))
        .AllowedLateness(TimeSpan.FromSeconds(1))
        .Aggregate("session-sums", new SumEvents(), new NameWindowSum())
        .Sink("sums", Sinks.Collect(Sums));
}
