using System;
using System.Collections.Generic;
using System.ComponentModel;
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
        void Process(in TIn value, ProcessContext<TKey> context, Collector<TOut> output);
    }

    /// <summary>A non-keyed process function, implemented on a struct; it may not declare keyed state.</summary>
    public interface IProcessFunction<TIn, TOut>
    {
        /// <summary>Processes one record.</summary>
        void Process(in TIn value, Collector<TOut> output);
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

    /// <summary>What a keyed process function knows about the record being processed.</summary>
    public sealed class ProcessContext<TKey>
    {
        private TKey _key = default!;

        /// <summary>The key of the current record.</summary>
        public TKey Key => _key;

        /// <summary>Set by generated code before each call.</summary>
        [EditorBrowsable(EditorBrowsableState.Never)]
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void SetCurrentKey(in TKey key) => _key = key;
    }

    /// <summary>
    /// Collects the records a function emits. Generated code drains it into the next operator after
    /// each call, so emitting is an array store: no delegate, no allocation once warmed up.
    /// </summary>
    public sealed class Collector<T>
    {
        private T[] _items = new T[16];
        private int _count;

        /// <summary>Emits one record.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Collect(in T record)
        {
            T[] items = _items;
            int count = _count;
            if ((uint)count < (uint)items.Length)
            {
                items[count] = record;
                _count = count + 1;
            }
            else
            {
                CollectSlow(record);
            }
        }

        /// <summary>Number of records collected since the last drain.</summary>
        [EditorBrowsable(EditorBrowsableState.Never)]
        public int Count => _count;

        /// <summary>The collected records (generated code reads them, then calls <see cref="Reset"/>).</summary>
        [EditorBrowsable(EditorBrowsableState.Never)]
        public ReadOnlySpan<T> Items => new(_items, 0, _count);

        /// <summary>Forgets the collected records.</summary>
        [EditorBrowsable(EditorBrowsableState.Never)]
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Reset()
        {
            if (RuntimeHelpers.IsReferenceOrContainsReferences<T>())
            {
                Array.Clear(_items, 0, _count);
            }

            _count = 0;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private void CollectSlow(in T record)
        {
            Array.Resize(ref _items, _items.Length * 2);
            _items[_count++] = record;
        }
    }
}
