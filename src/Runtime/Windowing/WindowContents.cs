using System.Collections.Generic;
using System.ComponentModel;
using System.Runtime.CompilerServices;

namespace Weir
{
    /// <summary>
    /// How a window keeps its records: folded into an accumulator as they arrive (reduce, aggregate) or
    /// kept whole for a full-window function. Implemented by structs the window operator calls directly.
    /// </summary>
    public interface IWindowContents<TIn, TAcc>
    {
        /// <summary>Adds a record to a window's contents; <paramref name="first"/> when the window is new.</summary>
        void Add(in TIn value, ref TAcc contents, bool first);

        /// <summary>Combines the contents of two windows that merge (session windows).</summary>
        TAcc Merge(in TAcc first, in TAcc second);
    }

    /// <summary>
    /// An aggregate function whose accumulators can be combined (Flink's AggregateFunction.merge):
    /// required to aggregate session windows, which merge.
    /// </summary>
    public interface IMergeableAggregateFunction<TIn, TAcc, TOut> : IAggregateFunction<TIn, TAcc, TOut>
    {
        /// <summary>Combines two accumulators.</summary>
        TAcc Merge(in TAcc first, in TAcc second);
    }

    /// <summary>A window folded by an aggregate function (used by generated code).</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public struct AggregateWindowContents<TIn, TAcc, TOut, TFunction> : IWindowContents<TIn, TAcc>
        where TFunction : struct, IAggregateFunction<TIn, TAcc, TOut>
    {
        private TFunction _function;

        /// <summary>Wraps the user's function.</summary>
        public AggregateWindowContents(TFunction function) => _function = function;

        /// <summary>The user's function.</summary>
        public readonly TFunction Function => _function;

        /// <inheritdoc/>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Add(in TIn value, ref TAcc contents, bool first)
        {
            if (first)
            {
                contents = _function.CreateAccumulator();
            }

            _function.Add(in value, ref contents);
        }

        /// <inheritdoc/>
        public TAcc Merge(in TAcc first, in TAcc second)
            => _function is IMergeableAggregateFunction<TIn, TAcc, TOut> mergeable
                ? mergeable.Merge(in first, in second)
                : throw new System.InvalidOperationException($"{typeof(TFunction).Name} cannot merge accumulators: implement IMergeableAggregateFunction to aggregate session windows.");
    }

    /// <summary>A window that keeps all its records, for a full-window process function (used by generated code).</summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public struct ListWindowContents<TIn> : IWindowContents<TIn, List<TIn>>
    {
        /// <inheritdoc/>
        public void Add(in TIn value, ref List<TIn> contents, bool first)
        {
            if (first || contents is null)
            {
                contents = new List<TIn>();
            }

            contents.Add(value);
        }

        /// <inheritdoc/>
        public List<TIn> Merge(in List<TIn> first, in List<TIn> second)
        {
            var merged = new List<TIn>(first.Count + second.Count);
            merged.AddRange(first);
            merged.AddRange(second);
            return merged;
        }
    }

    /// <summary>
    /// A list of exactly one element, reused: how an incremental aggregate's result is handed to a
    /// full-window function without allocating per window (used by generated code).
    /// </summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public sealed class SingleElementList<T> : IReadOnlyList<T>
    {
        private T _element = default!;

        /// <summary>Sets the one element.</summary>
        public SingleElementList<T> Of(T element)
        {
            _element = element;
            return this;
        }

        /// <inheritdoc/>
        public T this[int index] => index == 0 ? _element : throw new System.ArgumentOutOfRangeException(nameof(index));

        /// <inheritdoc/>
        public int Count => 1;

        /// <inheritdoc/>
        public IEnumerator<T> GetEnumerator()
        {
            yield return _element;
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>
    /// A full-window function (Flink's ProcessWindowFunction): called once per key and window when the
    /// window fires, with all of the window's records (or, after an incremental aggregate, its one result).
    /// </summary>
    public interface IProcessWindowFunction<TKey, TIn, TOut>
    {
        /// <summary>Evaluates window <paramref name="window"/> of key <paramref name="key"/>.</summary>
        void Process(TKey key, TimeWindow window, IReadOnlyList<TIn> elements, ref Collector<TOut> output);
    }
}
