using System.Runtime.CompilerServices;
using Weir.State;

namespace Weir
{
    /// <summary>Combines two values into one (the function of a <see cref="ReducingState{T, TReduce}"/>); implement it on a struct.</summary>
    public interface IReduceFunction<T>
    {
        /// <summary>Combines the stored value with a new one.</summary>
        T Reduce(in T accumulated, in T value);
    }

    /// <summary>
    /// Keyed state that folds every added value into one with a reduce function (Flink's
    /// ReducingState). The function is a struct type argument, so each <see cref="Add"/> calls it
    /// directly.
    /// </summary>
    public sealed class ReducingState<T, TReduce> : StateColumn
        where TReduce : struct, IReduceFunction<T>
    {
        private readonly ValueState<T> _value;
        private TReduce _reduce;

        internal ReducingState(KeyedStateStore store, StateDescriptor descriptor, int capacity, TReduce reduce, IStateSerializer<T> serializer)
            : base(store, descriptor)
        {
            _value = new ValueState<T>(store, descriptor, capacity, serializer);
            _reduce = reduce;
        }

        /// <summary>The current key's reduced value, or <c>default</c> when nothing was added.</summary>
        public T Value
        {
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            get => _value.Value;
        }

        /// <summary>Whether anything was added for the current key.</summary>
        public bool HasValue => _value.HasValue;

        /// <summary>Reads the current key's reduced value if it has one.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool TryGetValue(out T value) => _value.TryGetValue(out value);

        /// <summary>Folds <paramref name="value"/> into the current key's value.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Add(in T value)
            => _value.Value = _value.TryGetValue(out T accumulated) ? _reduce.Reduce(in accumulated, in value) : value;

        /// <summary>Forgets the current key's value.</summary>
        public void Clear() => _value.Clear();

        internal override void Resize(int capacity) => _value.Resize(capacity);

        internal override void ReleaseSlot(int slot) => _value.ReleaseSlot(slot);

        internal override void ExpireSlot(int slot, long now) => _value.ExpireSlot(slot, now);

        internal override long WriteSlot(int slot, SlotWriter writer) => _value.WriteSlot(slot, writer);

        internal override void ReadSlot(int slot, ref SlotReader reader) => _value.ReadSlot(slot, ref reader);

        internal override void EvictSlot(int slot) => _value.EvictSlot(slot);
    }

    /// <summary>
    /// Keyed state that adds values to an accumulator with an aggregate function and reads the result
    /// (Flink's AggregatingState). The function is a struct type argument, so calls are direct.
    /// </summary>
    public sealed class AggregatingState<TIn, TAcc, TOut, TAggregate> : StateColumn
        where TAggregate : struct, IAggregateFunction<TIn, TAcc, TOut>
    {
        private readonly ValueState<TAcc> _accumulator;
        private TAggregate _aggregate;

        internal AggregatingState(KeyedStateStore store, StateDescriptor descriptor, int capacity, TAggregate aggregate, IStateSerializer<TAcc> serializer)
            : base(store, descriptor)
        {
            _accumulator = new ValueState<TAcc>(store, descriptor, capacity, serializer);
            _aggregate = aggregate;
        }

        /// <summary>The current key's result, or the result of an empty accumulator when nothing was added.</summary>
        public TOut Value
        {
            get
            {
                TAcc accumulator = _accumulator.TryGetValue(out TAcc stored) ? stored : _aggregate.CreateAccumulator();
                return _aggregate.GetResult(in accumulator);
            }
        }

        /// <summary>Whether anything was added for the current key.</summary>
        public bool HasValue => _accumulator.HasValue;

        /// <summary>Adds <paramref name="value"/> to the current key's accumulator.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Add(in TIn value)
        {
            TAcc accumulator = _accumulator.TryGetValue(out TAcc stored) ? stored : _aggregate.CreateAccumulator();
            _aggregate.Add(in value, ref accumulator);
            _accumulator.Value = accumulator;
        }

        /// <summary>Forgets the current key's accumulator.</summary>
        public void Clear() => _accumulator.Clear();

        internal override void Resize(int capacity) => _accumulator.Resize(capacity);

        internal override void ReleaseSlot(int slot) => _accumulator.ReleaseSlot(slot);

        internal override void ExpireSlot(int slot, long now) => _accumulator.ExpireSlot(slot, now);

        internal override long WriteSlot(int slot, SlotWriter writer) => _accumulator.WriteSlot(slot, writer);

        internal override void ReadSlot(int slot, ref SlotReader reader) => _accumulator.ReadSlot(slot, ref reader);

        internal override void EvictSlot(int slot) => _accumulator.EvictSlot(slot);
    }
}
