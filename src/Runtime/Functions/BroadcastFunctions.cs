using System;
using System.ComponentModel;
using Weir.State;

namespace Weir
{
    /// <summary>
    /// The function of a keyed stream connected with a broadcast stream (Flink's
    /// KeyedBroadcastProcessFunction). Records of the keyed stream arrive, one key at a time, at
    /// <see cref="ProcessElement"/>, which may read and write the keyed state declared in the
    /// function's fields (<see cref="StateAttribute"/>) and read its broadcast state. Records of the
    /// broadcast stream reach every subtask and arrive at <see cref="ProcessBroadcastElement"/>, the
    /// only place that may change broadcast state (through <see cref="BroadcastContext"/>), so every
    /// subtask's copy stays identical.
    /// </summary>
    /// <remarks>
    /// Broadcast state is declared as fields of type <see cref="ReadOnlyBroadcastState{TKey, TValue}"/>
    /// (optionally named by <see cref="BroadcastStateAttribute"/>); the generator binds them. There is
    /// no ordering guarantee between the two inputs: a keyed record may be processed before a rule
    /// that was produced earlier, unless the pipeline asks for
    /// <see cref="BroadcastConnectedStream{TKey, T, TBroadcast}.BroadcastFirst"/>. Implement it on a
    /// struct: the generated chain calls it directly.
    /// </remarks>
    /// <typeparam name="TKey">The key of the keyed input.</typeparam>
    /// <typeparam name="TIn">The records of the keyed input.</typeparam>
    /// <typeparam name="TBroadcast">The records of the broadcast input (e.g. rules).</typeparam>
    /// <typeparam name="TOut">The records emitted.</typeparam>
    public interface IKeyedBroadcastProcessFunction<TKey, TIn, TBroadcast, TOut>
    {
        /// <summary>Processes one keyed record of key <c>context.Key</c>; broadcast state is read-only here.</summary>
        void ProcessElement(in TIn value, ProcessContext<TKey> context, ref Collector<TOut> output);

        /// <summary>
        /// Processes one broadcast record. Every subtask receives every broadcast record; updates of
        /// broadcast state must depend only on the record and the state, or the copies drift apart.
        /// Keyed state has no current key here and must not be used.
        /// </summary>
        void ProcessBroadcastElement(in TBroadcast value, BroadcastContext context, ref Collector<TOut> output);
    }

    /// <summary>
    /// What <see cref="IKeyedBroadcastProcessFunction{TKey, TIn, TBroadcast, TOut}.ProcessBroadcastElement"/>
    /// gets: write access to the function's broadcast state. It is a <c>ref struct</c>, so it cannot
    /// be kept in a field and used from <c>ProcessElement</c>, where broadcast state is read-only.
    /// </summary>
    public readonly ref struct BroadcastContext
    {
        private readonly BroadcastStateSet _states;

        /// <summary>Created by generated code around each broadcast record.</summary>
        [EditorBrowsable(EditorBrowsableState.Never)]
        public BroadcastContext(BroadcastStateSet states) => _states = states;

        /// <summary>
        /// The writable broadcast state behind one of the function's broadcast state fields (Flink's
        /// <c>ctx.getBroadcastState(descriptor)</c> on the broadcast side).
        /// </summary>
        /// <exception cref="InvalidOperationException">The state is not one of this operator's broadcast states.</exception>
        public BroadcastState<TKey, TValue> GetBroadcastState<TKey, TValue>(ReadOnlyBroadcastState<TKey, TValue> declared)
            where TKey : notnull
        {
            if (declared is null || _states is null || !_states.Owns(declared.State))
            {
                throw new InvalidOperationException(
                    $"GetBroadcastState needs one of the function's own [BroadcastState] fields, bound by the generated operator" +
                    (_states is null ? "." : $" '{_states.OperatorId}'."));
            }

            return declared.State;
        }
    }
}
