using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Weir
{
    /// <summary>
    /// A keyed process function: called once per record with the record's key; may read and write
    /// the keyed state declared in its fields (<see cref="ValueState{T}"/> marked
    /// <see cref="StateAttribute"/>) and emit any number of records. Implement it on a
    /// <c>partial struct</c>: the generator calls it directly (no virtual dispatch) and binds its state.
    /// </summary>
    public interface IKeyedProcessFunction<TKey, TIn, TOut>
    {
        /// <summary>Processes one record of key <c>context.Key</c>.</summary>
        void Process(in TIn value, ProcessContext<TKey> context, ref Collector<TOut> output);
    }

    /// <summary>A non-keyed process function, implemented on a struct; it may not declare keyed state.</summary>
    public interface IProcessFunction<TIn, TOut>
    {
        /// <summary>Processes one record.</summary>
        void Process(in TIn value, ref Collector<TOut> output);
    }

    /// <summary>An incremental aggregation: records are added to an accumulator per key.</summary>
    public interface IAggregateFunction<TIn, TAcc, TOut>
    {
        /// <summary>Creates the accumulator for a key's first record.</summary>
        TAcc CreateAccumulator();

        /// <summary>Adds a record to the accumulator.</summary>
        void Add(in TIn value, ref TAcc accumulator);

        /// <summary>The current result of an accumulator.</summary>
        TOut GetResult(in TAcc accumulator);
    }

    /// <summary>
    /// A keyed process function that uses timers (Flink's KeyedProcessFunction.onTimer): timers are
    /// registered through the <see cref="ProcessContext{TKey}"/> and fire per key, in timestamp order,
    /// with that key's state current. Timers are keyed state: checkpointed, restored and redistributed
    /// with their key group.
    /// </summary>
    public interface IKeyedTimerFunction<TKey, TOut>
    {
        /// <summary>
        /// A timer of key <c>context.Key</c> fired at <paramref name="timestamp"/>
        /// (<c>context.TimeDomain</c> says which clock). Output records get the timer's timestamp.
        /// </summary>
        void OnTimer(long timestamp, ProcessContext<TKey> context, ref Collector<TOut> output);
    }

    /// <summary>What a keyed process function knows about the record being processed, and its timers.</summary>
    public sealed class ProcessContext<TKey>
    {
        private readonly Time.ITimerService? _timers;
        private readonly TimeProvider _clock;
        private TKey _key = default!;

        /// <summary>Creates the context of an operator without timers (called by generated code).</summary>
        [EditorBrowsable(EditorBrowsableState.Never)]
        public ProcessContext()
            : this(null, TimeProvider.System)
        {
        }

        /// <summary>Creates the context of an operator with timers (called by generated code).</summary>
        [EditorBrowsable(EditorBrowsableState.Never)]
        public ProcessContext(Time.ITimerService? timers, TimeProvider clock)
        {
            _timers = timers;
            _clock = clock;
        }

        /// <summary>The key of the current record.</summary>
        public TKey Key => _key;

        /// <summary>
        /// The current record's event-time timestamp (or the firing timer's);
        /// <see cref="Time.Watermarks.NoTimestamp"/> when the record has none.
        /// </summary>
        public long Timestamp { get; private set; } = Time.Watermarks.NoTimestamp;

        /// <summary>Which timer fired, in <see cref="IKeyedTimerFunction{TKey, TOut}.OnTimer"/>; null while processing a record.</summary>
        public Time.TimeDomain? TimeDomain { get; private set; }

        /// <summary>The operator's current event time (the last watermark it received).</summary>
        public long CurrentWatermark => Timers.CurrentWatermark;

        /// <summary>The current processing time, in Unix milliseconds.</summary>
        public long CurrentProcessingTime => _clock.GetUtcNow().ToUnixTimeMilliseconds();

        /// <summary>Registers an event-time timer for the current key: it fires once the watermark reaches <paramref name="timestamp"/>.</summary>
        public void RegisterEventTimeTimer(long timestamp) => Timers.RegisterEventTimeTimer(timestamp);

        /// <summary>Deletes the current key's event-time timer at <paramref name="timestamp"/>, if it is registered.</summary>
        public void DeleteEventTimeTimer(long timestamp) => Timers.DeleteEventTimeTimer(timestamp);

        /// <summary>Registers a processing-time timer for the current key: it fires once the wall clock reaches <paramref name="timestamp"/> (Unix milliseconds).</summary>
        public void RegisterProcessingTimeTimer(long timestamp) => Timers.RegisterProcessingTimeTimer(timestamp);

        /// <summary>Deletes the current key's processing-time timer at <paramref name="timestamp"/>, if it is registered.</summary>
        public void DeleteProcessingTimeTimer(long timestamp) => Timers.DeleteProcessingTimeTimer(timestamp);

        private Time.ITimerService Timers => _timers ?? throw new InvalidOperationException(
            "This function has no timers: implement IKeyedTimerFunction<TKey, TOut> on it to use timers and event time.");

        /// <summary>Set by generated code before each call.</summary>
        [EditorBrowsable(EditorBrowsableState.Never)]
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void SetCurrentKey(in TKey key) => _key = key;

        /// <summary>Set by generated code before each call of a job that uses event time.</summary>
        [EditorBrowsable(EditorBrowsableState.Never)]
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void SetCurrentRecord(in TKey key, long timestamp)
        {
            _key = key;
            Timestamp = timestamp;
            TimeDomain = null;
        }

        /// <summary>Set by generated code before a timer's callback.</summary>
        [EditorBrowsable(EditorBrowsableState.Never)]
        public void SetFiringTimer(in TKey key, long timestamp, Time.TimeDomain domain)
        {
            _key = key;
            Timestamp = timestamp;
            TimeDomain = domain;
        }
    }

    /// <summary>
    /// A flat-map function: emits zero or more records per input record, e.g.
    /// <c>static void Split(string line, ref Collector&lt;string&gt; words)</c>.
    /// </summary>
    public delegate void FlatMapFunction<TIn, TOut>(TIn value, ref Collector<TOut> output);

    /// <summary>
    /// Where a function emits its records: call <see cref="Collect"/> zero or more times per input
    /// record. It is a <c>ref struct</c> passed by <c>ref</c>, valid only during the call that received
    /// it (it cannot be stored). The first record stays in the collector itself, which the JIT keeps in
    /// registers: the common one-record case touches no memory before it reaches the next operator.
    /// </summary>
    public ref struct Collector<T>
    {
        private readonly CollectorBuffer<T> _overflow;
        private T _first;
        private int _count;

        /// <summary>Creates an empty collector whose second and later records go to <paramref name="overflow"/>.</summary>
        [EditorBrowsable(EditorBrowsableState.Never)]
        public Collector(CollectorBuffer<T> overflow)
        {
            _overflow = overflow;
            _first = default!;
            _count = 0;
        }

        /// <summary>Emits a record to the next operator.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Collect(in T record)
        {
            int count = _count;
            if (count == 0)
            {
                _first = record;
            }
            else
            {
                _overflow.Set(count - 1, in record);
            }

            _count = count + 1;
        }

        /// <summary>Number of records collected so far.</summary>
        [EditorBrowsable(EditorBrowsableState.Never)]
        public readonly int Count => _count;

        /// <summary>The first collected record (valid when <see cref="Count"/> is at least 1).</summary>
        [EditorBrowsable(EditorBrowsableState.Never)]
        [UnscopedRef]
        public readonly ref readonly T First => ref _first;

        /// <summary>The second and later collected records.</summary>
        [EditorBrowsable(EditorBrowsableState.Never)]
        public readonly ReadOnlySpan<T> Overflow => _count > 1 ? _overflow.Items(_count - 1) : default;

        /// <summary>Drops references held by the overflow buffer once its records have been forwarded.</summary>
        [EditorBrowsable(EditorBrowsableState.Never)]
        public readonly void ClearOverflow()
        {
            if (_count > 1)
            {
                _overflow.Clear(_count - 1);
            }
        }
    }

    /// <summary>
    /// The reusable storage behind a <see cref="Collector{T}"/> for records after the first; one per
    /// operator, owned by generated code, grown on demand and never shrunk.
    /// </summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public sealed class CollectorBuffer<T>
    {
        private T[] _items = new T[16];

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal void Set(int index, in T record)
        {
            T[] items = _items;
            if ((uint)index < (uint)items.Length)
            {
                items[index] = record;
            }
            else
            {
                SetSlow(index, record);
            }
        }

        internal ReadOnlySpan<T> Items(int count) => new(_items, 0, count);

        internal void Clear(int count)
        {
            if (RuntimeHelpers.IsReferenceOrContainsReferences<T>())
            {
                Array.Clear(_items, 0, count);
            }
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private void SetSlow(int index, in T record)
        {
            Array.Resize(ref _items, Math.Max(_items.Length * 2, index + 1));
            _items[index] = record;
        }
    }
}
