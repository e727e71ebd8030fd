namespace Weir
{
    /// <summary>
    /// A keyed function over two connected keyed streams (Flink's KeyedCoProcessFunction): both inputs
    /// are partitioned by the same key, so the function's keyed state and timers are shared by the
    /// records of both for that key. Implement <see cref="IKeyedTimerFunction{TKey, TOut}"/> too to use timers.
    /// </summary>
    public interface IKeyedCoProcessFunction<TKey, TIn1, TIn2, TOut>
    {
        /// <summary>Processes a record of the first input, of key <c>context.Key</c>.</summary>
        void ProcessElement1(in TIn1 value, ProcessContext<TKey> context, ref Collector<TOut> output);

        /// <summary>Processes a record of the second input, of key <c>context.Key</c>.</summary>
        void ProcessElement2(in TIn2 value, ProcessContext<TKey> context, ref Collector<TOut> output);
    }

    /// <summary>Joins one pair of records of the same key and window (Flink's JoinFunction).</summary>
    public interface IJoinFunction<TIn1, TIn2, TOut>
    {
        /// <summary>The result of one pair.</summary>
        TOut Join(in TIn1 first, in TIn2 second);
    }

    /// <summary>Handles one pair of records of the same key whose timestamps are within the join's bounds (Flink's ProcessJoinFunction).</summary>
    public interface IProcessJoinFunction<TIn1, TIn2, TOut>
    {
        /// <summary>Emits zero or more records for the pair.</summary>
        void Process(in TIn1 left, in TIn2 right, ref Collector<TOut> output);
    }
}
