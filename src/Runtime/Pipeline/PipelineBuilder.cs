using System;
using Weir.Connectors;

namespace Weir
{
    /// <summary>
    /// The typed vocabulary of a pipeline definition. A method marked <see cref="PipelineAttribute"/>
    /// is read by Weir.Generator at build time and compiled into fused operator chains; the C#
    /// compiler checks its types, the generator checks its shape (WEIR diagnostics). These methods
    /// are never executed: the job runs from the generated code, so calling them throws.
    /// </summary>
    public sealed class PipelineBuilder
    {
        private PipelineBuilder()
        {
        }

        /// <summary>Sets the job's default parallelism, used when <c>--parallelism</c> is not given.</summary>
        public PipelineBuilder Parallelism(int parallelism) => throw DefinitionOnly.Called();

        /// <summary>
        /// Sets the job's max parallelism (the number of key groups), fixed for the life of its state.
        /// Default: <c>min(max(nextPow2(p + p/2), 128), 32768)</c> as in Flink.
        /// </summary>
        public PipelineBuilder MaxParallelism(int maxParallelism) => throw DefinitionOnly.Called();

        /// <summary>Adds a source with an explicit, stable operator ID (sources hold offsets).</summary>
        public DataStream<T> Source<T, TReader>(string id, ISource<T, TReader> source)
            where TReader : ISourceReader<T>
            => throw DefinitionOnly.Called();
    }

    /// <summary>A stream of records of type <typeparamref name="T"/> in a pipeline definition.</summary>
    public sealed class DataStream<T>
    {
        private DataStream()
        {
        }

        /// <summary>Transforms each record. Chained (fused) with its neighbours.</summary>
        public DataStream<TOut> Map<TOut>(Func<T, TOut> map) => throw DefinitionOnly.Called();

        /// <summary>Keeps the records for which <paramref name="predicate"/> is true.</summary>
        public DataStream<T> Filter(Func<T, bool> predicate) => throw DefinitionOnly.Called();

        /// <summary>Emits zero or more records per record through the collector.</summary>
        public DataStream<TOut> FlatMap<TOut>(FlatMapFunction<T, TOut> flatMap) => throw DefinitionOnly.Called();

        /// <summary>A non-keyed process function (a struct), with an explicit operator ID.</summary>
        public DataStream<TOut> Process<TOut>(string id, IProcessFunction<T, TOut> function) => throw DefinitionOnly.Called();

        /// <summary>
        /// Partitions the stream by key: each record goes to the subtask owning its key group
        /// (<c>stableHash(key) % maxParallelism</c>). The key type needs a stable hash.
        /// </summary>
        public KeyedStream<TKey, T> KeyBy<TKey>(Func<T, TKey> keySelector) => throw DefinitionOnly.Called();

        /// <summary>
        /// Gives each record an event-time timestamp (<paramref name="timestamp"/>, Unix milliseconds) and
        /// generates watermarks with <paramref name="strategy"/>, per subtask (Flink's
        /// assignTimestampsAndWatermarks). Watermarks arriving from upstream are replaced by the new ones.
        /// </summary>
        public DataStream<T> AssignTimestampsAndWatermarks<TGenerator>(Func<T, long> timestamp, WatermarkStrategy<T, TGenerator> strategy)
            where TGenerator : struct, IWatermarkGenerator<T>
            => throw DefinitionOnly.Called();

        /// <summary>Merges streams of the same type.</summary>
        public DataStream<T> Union(params DataStream<T>[] others) => throw DefinitionOnly.Called();

        /// <summary>Distributes records round-robin over the next operator's subtasks.</summary>
        public DataStream<T> Rebalance() => throw DefinitionOnly.Called();

        /// <summary>Sends every record to every subtask of the next operator.</summary>
        public DataStream<T> Broadcast() => throw DefinitionOnly.Called();

        /// <summary>Sets the parallelism of the operator that produces this stream.</summary>
        public DataStream<T> Parallelism(int parallelism) => throw DefinitionOnly.Called();

        /// <summary>Writes the stream to a sink with an explicit, stable operator ID.</summary>
        public SinkDefinition Sink<TWriter>(string id, ISink<T, TWriter> sink)
            where TWriter : ISinkWriter<T>
            => throw DefinitionOnly.Called();
    }

    /// <summary>A stream partitioned by a key of type <typeparamref name="TKey"/>.</summary>
    public sealed class KeyedStream<TKey, T>
    {
        private KeyedStream()
        {
        }

        /// <summary>A keyed process function (a struct, partial when it declares state).</summary>
        public DataStream<TOut> Process<TOut>(string id, IKeyedProcessFunction<TKey, T, TOut> function) => throw DefinitionOnly.Called();

        /// <summary>
        /// Folds each key's records with <paramref name="reduce"/> and emits the running result for
        /// every record (Flink's keyed reduce).
        /// </summary>
        public DataStream<T> Reduce(string id, Func<T, T, T> reduce) => throw DefinitionOnly.Called();

        /// <summary>
        /// Aggregates each key's records into an accumulator and emits the current result for every
        /// record.
        /// </summary>
        public DataStream<TOut> Aggregate<TAcc, TOut>(string id, IAggregateFunction<T, TAcc, TOut> aggregate) => throw DefinitionOnly.Called();

        /// <summary>
        /// Groups each key's records into event-time windows (tumbling, sliding or session: see
        /// <see cref="Windows"/>), evaluated when the watermark passes a window's end. Continue with
        /// <c>Reduce</c>, <c>Aggregate</c> or <c>Process</c>.
        /// </summary>
        public WindowedStream<TKey, T, TAssigner> Window<TAssigner>(TAssigner assigner)
            where TAssigner : struct, IWindowAssigner
            => throw DefinitionOnly.Called();

        /// <summary>
        /// Connects this keyed stream with another stream keyed by the same key type (Flink's connected
        /// keyed streams): continue with <c>Process</c> and an <see cref="IKeyedCoProcessFunction{TKey, TIn1, TIn2, TOut}"/>,
        /// whose keyed state and timers both inputs share per key.
        /// </summary>
        public ConnectedKeyedStreams<TKey, T, T2> Connect<T2>(KeyedStream<TKey, T2> other) => throw DefinitionOnly.Called();

        /// <summary>
        /// Joins this keyed stream with another by key and event-time window (Flink's window join):
        /// continue with <c>Window(...)</c> and <c>Apply</c>. Records pair up when they have the same
        /// key and fall into the same window.
        /// </summary>
        public JoinedKeyedStreams<TKey, T, T2> Join<T2>(KeyedStream<TKey, T2> other) => throw DefinitionOnly.Called();

        /// <summary>
        /// Joins this keyed stream with another by key and timestamp distance (Flink's interval join): a
        /// record at <c>t</c> pairs with each record of the other stream at <c>[t + lower, t + upper]</c>.
        /// Continue with <c>Between</c> and <c>Process</c>.
        /// </summary>
        public IntervalJoinBuilder<TKey, T, T2> IntervalJoin<T2>(KeyedStream<TKey, T2> other) => throw DefinitionOnly.Called();

        /// <summary>
        /// Connects this keyed stream with a broadcast stream (<c>rules.Broadcast()</c>; the generator
        /// refuses any other partitioning): every subtask of the next operator receives every
        /// broadcast record and this stream's records of the keys it owns. Continue with
        /// <see cref="BroadcastConnectedStream{TKey, T, TBroadcast}.Process{TOut}"/>.
        /// </summary>
        public BroadcastConnectedStream<TKey, T, TBroadcast> Connect<TBroadcast>(DataStream<TBroadcast> broadcast) => throw DefinitionOnly.Called();
    }

    /// <summary>A keyed stream grouped into event-time windows (Flink's WindowedStream).</summary>
    public sealed class WindowedStream<TKey, T, TAssigner>
        where TAssigner : struct, IWindowAssigner
    {
        private WindowedStream()
        {
        }

        /// <summary>
        /// Keeps each window for <paramref name="lateness"/> after its end: a late record within it updates
        /// the window and fires it again (default: zero).
        /// </summary>
        public WindowedStream<TKey, T, TAssigner> AllowedLateness(TimeSpan lateness) => throw DefinitionOnly.Called();

        /// <summary>
        /// Records too late for every window they belong to go to <paramref name="late"/> instead of
        /// being dropped (Flink's sideOutputLateData).
        /// </summary>
        public WindowedStream<TKey, T, TAssigner> SideOutputLateData(out DataStream<T> late) => throw DefinitionOnly.Called();

        /// <summary>Folds each window's records with <paramref name="reduce"/> as they arrive; emits one result per key and window.</summary>
        public DataStream<T> Reduce(string id, Func<T, T, T> reduce) => throw DefinitionOnly.Called();

        /// <summary>
        /// Aggregates each window's records into an accumulator as they arrive; emits the result per key
        /// and window. Session windows need an <see cref="IMergeableAggregateFunction{TIn, TAcc, TOut}"/>.
        /// </summary>
        public DataStream<TOut> Aggregate<TAcc, TOut>(string id, IAggregateFunction<T, TAcc, TOut> aggregate) => throw DefinitionOnly.Called();

        /// <summary>
        /// Aggregates each window's records incrementally, then calls <paramref name="window"/> with the
        /// one result, the key and the window (Flink's aggregate(aggregate, windowFunction)): the window
        /// keeps one accumulator, yet the output can name its key and window.
        /// </summary>
        public DataStream<TOut> Aggregate<TAcc, TResult, TOut>(string id, IAggregateFunction<T, TAcc, TResult> aggregate, IProcessWindowFunction<TKey, TResult, TOut> window) => throw DefinitionOnly.Called();

        /// <summary>Keeps each window's records and calls <paramref name="function"/> with all of them when it fires.</summary>
        public DataStream<TOut> Process<TOut>(string id, IProcessWindowFunction<TKey, T, TOut> function) => throw DefinitionOnly.Called();
    }

    /// <summary>Two streams keyed by the same key type, connected (Flink's ConnectedStreams of keyed streams).</summary>
    public sealed class ConnectedKeyedStreams<TKey, T1, T2>
    {
        private ConnectedKeyedStreams()
        {
        }

        /// <summary>A keyed co-process function (a struct), with an explicit operator ID.</summary>
        public DataStream<TOut> Process<TOut>(string id, IKeyedCoProcessFunction<TKey, T1, T2, TOut> function) => throw DefinitionOnly.Called();
    }

    /// <summary>Two keyed streams to be joined by window.</summary>
    public sealed class JoinedKeyedStreams<TKey, T1, T2>
    {
        private JoinedKeyedStreams()
        {
        }

        /// <summary>The event-time windows records pair up in (tumbling or sliding).</summary>
        public WindowedJoin<TKey, T1, T2, TAssigner> Window<TAssigner>(TAssigner assigner)
            where TAssigner : struct, IWindowAssigner
            => throw DefinitionOnly.Called();
    }

    /// <summary>A window join before its join function.</summary>
    public sealed class WindowedJoin<TKey, T1, T2, TAssigner>
        where TAssigner : struct, IWindowAssigner
    {
        private WindowedJoin()
        {
        }

        /// <summary>Calls <paramref name="join"/> for every pair of the same key and window when the window fires.</summary>
        public DataStream<TOut> Apply<TOut>(string id, IJoinFunction<T1, T2, TOut> join) => throw DefinitionOnly.Called();
    }

    /// <summary>Two keyed streams to be joined by timestamp distance.</summary>
    public sealed class IntervalJoinBuilder<TKey, T1, T2>
    {
        private IntervalJoinBuilder()
        {
        }

        /// <summary>A first-input record at <c>t</c> joins second-input records at <c>[t + lower, t + upper]</c> (inclusive).</summary>
        public IntervalJoined<TKey, T1, T2> Between(TimeSpan lower, TimeSpan upper) => throw DefinitionOnly.Called();
    }

    /// <summary>An interval join before its function.</summary>
    public sealed class IntervalJoined<TKey, T1, T2>
    {
        private IntervalJoined()
        {
        }

        /// <summary>Calls <paramref name="function"/> for every pair; results carry the later of the two timestamps.</summary>
        public DataStream<TOut> Process<TOut>(string id, IProcessJoinFunction<T1, T2, TOut> function) => throw DefinitionOnly.Called();
    }

    /// <summary>
    /// A keyed stream connected with a broadcast stream (Flink's BroadcastConnectedStream): its
    /// operator has two inputs, the keyed records and the broadcast records, in no guaranteed order.
    /// </summary>
    public sealed class BroadcastConnectedStream<TKey, T, TBroadcast>
    {
        private BroadcastConnectedStream()
        {
        }

        /// <summary>
        /// Reads the broadcast input to its end before the first keyed record (Flink's input
        /// selection), so that a bounded set of rules applies from the first record and results do not
        /// depend on timing. The keyed input waits meanwhile (its senders block), so use it only with a
        /// bounded broadcast source that does not depend on the keyed input (the generator refuses
        /// inputs with a common upstream operator, which would deadlock).
        /// </summary>
        public BroadcastConnectedStream<TKey, T, TBroadcast> BroadcastFirst() => throw DefinitionOnly.Called();

        /// <summary>A keyed broadcast process function (a struct), with an explicit operator ID.</summary>
        public DataStream<TOut> Process<TOut>(string id, IKeyedBroadcastProcessFunction<TKey, T, TBroadcast, TOut> function) => throw DefinitionOnly.Called();
    }

    /// <summary>The end of a stream at a sink.</summary>
    public sealed class SinkDefinition
    {
        private SinkDefinition()
        {
        }

        /// <summary>Sets the sink's parallelism.</summary>
        public SinkDefinition Parallelism(int parallelism) => throw DefinitionOnly.Called();
    }

    internal static class DefinitionOnly
    {
        public static InvalidOperationException Called() => new(
            "A [Pipeline] method is a declaration compiled by Weir.Generator and is never executed. " +
            "Run the job through its generated entry point (YourJob.Run(args) or YourJob.Execute(...)); " +
            "if that method is missing, check that the project references Weir.Generator as an analyzer.");
    }
}
