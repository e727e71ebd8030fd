using System;
using System.Collections.Generic;
using System.Threading;
using Microsoft.Extensions.Logging;
using Weir.Execution;

namespace Weir.CompilerServices
{
    /// <summary>
    /// The event-time side of a generated chain body, the same for one and two inputs: the subtask
    /// loops feed it watermarks, idle statuses and processing time.
    /// </summary>
    public interface IEventTimeChain
    {
        /// <summary>
        /// The chain's input event time advanced to <paramref name="watermark"/>: operators fire their
        /// event-time timers and windows up to it, in chain order, and the watermark moves on downstream.
        /// </summary>
        void OnWatermark(long watermark);

        /// <summary>The chain's input became idle (no records, must not hold back event time downstream) or active.</summary>
        void OnWatermarkStatus(bool idle);

        /// <summary>
        /// Processing time is now <paramref name="now"/> (Unix milliseconds): watermark generators emit
        /// periodic watermarks and detect idleness, processing-time timers fire. Returns when the chain
        /// next wants to be called (<see cref="long.MaxValue"/>: never).
        /// </summary>
        long OnProcessingTime(long now);
    }

    /// <summary>
    /// The per-record code of one fused chain, emitted by Weir.Generator as a struct. The runtime's
    /// subtask loops are generic over it, so <see cref="ProcessBatch"/> and everything it calls are
    /// direct, inlinable calls on structs.
    /// </summary>
    public interface IChainBody<TIn> : IEventTimeChain
    {
        /// <summary>
        /// Runs every record of a batch through the chain; <paramref name="timestamps"/> holds their
        /// event-time timestamps (read only by chains of jobs that use event time).
        /// </summary>
        void ProcessBatch(ReadOnlySpan<TIn> records, ReadOnlySpan<long> timestamps);

        /// <summary>The subtask is idle: push partly filled output batches and sink buffers out.</summary>
        void Flush();

        /// <summary>All input has arrived: signal end of input downstream and commit sinks.</summary>
        void EndOfInput();

        /// <summary>Releases resources; always called, after success, failure or abort.</summary>
        void Close();
    }

    /// <summary>An operator as the runtime reports it (logs, errors, later checkpoints).</summary>
    /// <param name="Id">The user's explicit ID, or a generated display name for stateless operators.</param>
    /// <param name="Kind">Source, Map, Filter, FlatMap, Process, Reduce, Aggregate or Sink.</param>
    /// <param name="Hash">The stable operator hash (<see cref="OperatorIds.Hash"/> of an explicit ID; 0 for stateless operators).</param>
    /// <param name="HasExplicitId">Whether <paramref name="Id"/> was given by the user.</param>
    public sealed record OperatorDescriptor(string Id, string Kind, ulong Hash, bool HasExplicitId)
    {
        /// <inheritdoc/>
        public override string ToString() => HasExplicitId ? $"{Kind} '{Id}'" : $"{Kind} ({Id})";
    }

    /// <summary>One fused chain of the job graph.</summary>
    /// <param name="Index">The chain's index in the plan.</param>
    /// <param name="Operators">The chain's operators, in order.</param>
    /// <param name="FixedParallelism">A parallelism set in the pipeline, or null for the job's parallelism.</param>
    /// <param name="IsKeyed">Whether the chain holds keyed state (and so owns a key-group range).</param>
    public sealed record ChainInfo(int Index, IReadOnlyList<OperatorDescriptor> Operators, int? FixedParallelism, bool IsKeyed)
    {
        /// <summary>A display name: the operators joined by arrows.</summary>
        public string Name => string.Join(" -> ", System.Linq.Enumerable.Select(Operators, o => o.HasExplicitId ? o.Id : o.Kind));
    }

    /// <summary>What a chain body's factory gets for one subtask.</summary>
    public sealed class SubtaskContext
    {
        private readonly Func<int, object> _outputFactory;
        private readonly State.StateBackendOptions _stateBackend;
        private readonly string? _stateRunDirectory;
        private readonly Checkpointing.Subtasks.RestoredCheckpoint? _restored;
        private readonly Connectors.CheckpointParticipation? _participation;
        private readonly List<Action> _afterRestore = new();
        private State.Faster.FasterSpillStore? _spillStore;

        internal SubtaskContext(
            string jobName,
            ChainInfo chain,
            int subtaskIndex,
            int parallelism,
            int maxParallelism,
            CancellationToken stopToken,
            CancellationToken abortToken,
            ILogger logger,
            TimeProvider clock,
            State.StateBackendOptions stateBackend,
            string? stateRunDirectory,
            Func<int, object> outputFactory,
            Checkpointing.Subtasks.SubtaskCheckpointer? checkpointer = null,
            Checkpointing.Subtasks.RestoredCheckpoint? restored = null,
            Connectors.CheckpointParticipation? participation = null)
        {
            Checkpointer = checkpointer;
            _restored = restored;
            _participation = participation;
            _stateBackend = stateBackend;
            _stateRunDirectory = stateRunDirectory;
            JobName = jobName;
            Chain = chain;
            SubtaskIndex = subtaskIndex;
            Parallelism = parallelism;
            MaxParallelism = maxParallelism;
            KeyGroupRange = KeyGroups.RangeOf(subtaskIndex, parallelism, maxParallelism);
            StopToken = stopToken;
            AbortToken = abortToken;
            Logger = logger;
            Clock = clock;
            _outputFactory = outputFactory;
        }

        /// <summary>The job's name.</summary>
        public string JobName { get; }

        /// <summary>The chain this subtask runs.</summary>
        public ChainInfo Chain { get; }

        /// <summary>This subtask's index in [0, Parallelism).</summary>
        public int SubtaskIndex { get; }

        /// <summary>The chain's parallelism.</summary>
        public int Parallelism { get; }

        /// <summary>The job's max parallelism (number of key groups).</summary>
        public int MaxParallelism { get; }

        /// <summary>The key groups this subtask owns.</summary>
        public KeyGroupRange KeyGroupRange { get; }

        /// <summary>Signalled when sources should stop reading.</summary>
        public CancellationToken StopToken { get; }

        /// <summary>Signalled when the job aborts (failure or hard cancel): nothing may be committed.</summary>
        internal CancellationToken AbortToken { get; }

        /// <summary>Processing time, for state time-to-live.</summary>
        public TimeProvider Clock { get; }

        /// <summary>Creates the keyed state store of one of this chain's keyed operators on this subtask, on the run's state backend.</summary>
        /// <param name="operatorId">The operator's explicit ID.</param>
        /// <param name="keySerializer">Serializes the operator's keys.</param>
        public State.KeyedStateTable<TKey> KeyedState<TKey>(string operatorId, State.IStateSerializer<TKey> keySerializer)
            where TKey : notnull
        {
            State.KeyedStateTable<TKey> table;
            if (_stateBackend.Kind == State.StateBackendKind.Heap)
            {
                table = new(operatorId, KeyGroupRange, keySerializer, Clock);
            }
            else
            {
                table = CreateOnSpillStore(operatorId, keySerializer);
            }

            if (Checkpointer is not null && (object)table is Checkpointing.Snapshots.ICheckpointedState checkpointed)
            {
                Checkpointer.Register(checkpointed);
            }

            return table;
        }

        private State.KeyedStateTable<TKey> CreateOnSpillStore<TKey>(string operatorId, State.IStateSerializer<TKey> keySerializer)
            where TKey : notnull
        {
            // One FASTER store per subtask, shared by the chain's keyed operators (their keys carry the operator's hash).
            _spillStore ??= new State.Faster.FasterSpillStore(
                System.IO.Path.Combine(_stateRunDirectory!, $"chain-{Chain.Index}-subtask-{SubtaskIndex}"),
                _stateBackend.MemoryBudgetBytes,
                _stateBackend.CachedKeys);
            return new(operatorId, KeyGroupRange, keySerializer, Clock, _spillStore);
        }

        /// <summary>Creates the broadcast states of one of this chain's broadcast-connected operators on this subtask (checkpointed with it).</summary>
        /// <param name="operatorId">The operator's explicit ID.</param>
        public State.BroadcastStateSet BroadcastStates(string operatorId)
        {
            var states = new State.BroadcastStateSet(operatorId);
            Checkpointer?.Register(new Checkpointing.Snapshots.OperatorStateCheckpoint(operatorId, "broadcast", () => states.States));
            return states;
        }

        /// <summary>Releases what the subtask's state holds (the FASTER store's files and memory); called once the chain is closed.</summary>
        internal void ReleaseResources()
        {
            _spillStore?.Dispose();
            _spillStore = null;
        }

        /// <summary>The job's logger.</summary>
        public ILogger Logger { get; }

        /// <summary>The writer of one outgoing exchange edge (by the edge's index in the plan).</summary>
        public ExchangeWriter<T> Output<T>(int edgeIndex)
        {
            var writer = (ExchangeWriter<T>)_outputFactory(edgeIndex);
            Checkpointer?.AddEmitter(writer);
            return writer;
        }

        /// <summary>A source context for the chain's source.</summary>
        public Connectors.SourceContext SourceContext(string operatorId) => new(operatorId, SubtaskIndex, Parallelism, StopToken, _participation, SourceSplits);

        /// <summary>
        /// The splits of the source this chain starts at (null in chains fed by exchanges): a timestamp
        /// assigner in the chain keeps a watermark per split.
        /// </summary>
        public Connectors.SourceSplits? SourceSplits { get; internal set; }

        /// <summary>A sink context for one of the chain's sinks.</summary>
        public Connectors.SinkContext SinkContext(string operatorId) => new(operatorId, SubtaskIndex, Parallelism, _participation);

        /// <summary>The checkpoint side of this subtask; null when the job runs without checkpoints.</summary>
        internal Checkpointing.Subtasks.SubtaskCheckpointer? Checkpointer { get; }

        /// <summary>Where the subtask reports entering and leaving batches, for stall detection; null when that is off.</summary>
        internal Recovery.SubtaskProgress? Progress { get; private set; }

        /// <summary>The subtask's slot in <see cref="Progress"/>.</summary>
        internal int ProgressSlot { get; private set; }

        internal void TrackProgress(Recovery.SubtaskProgress progress, int slot)
        {
            Progress = progress;
            ProgressSlot = slot;
        }

        /// <summary>Restores the state every operator of the chain registered (called once the chain body and source reader exist, before the first record).</summary>
        internal void RestoreState()
        {
            Checkpointer?.Restore(_restored, MaxParallelism);
            foreach (Action restored in _afterRestore)
            {
                restored();
            }
        }

        /// <summary>
        /// Runs <paramref name="action"/> once the subtask's state has been restored (or found empty),
        /// before the first record: for structures derived from state, such as timer queues.
        /// </summary>
        public void AfterRestore(Action action) => _afterRestore.Add(action);

        /// <summary>A description of this subtask for logs and errors, e.g. "subtask 2/4 of 'counts'".</summary>
        public override string ToString() => $"subtask {SubtaskIndex + 1}/{Parallelism} of chain '{Chain.Name}'";
    }

    /// <summary>Builds the error that fails a job when user code throws.</summary>
    public static class OperatorFailure
    {
        private const int MaxRecordText = 400;

        /// <summary>Wraps an exception thrown by an operator of a chain while processing a record.</summary>
        public static Exception Create<TRecord>(SubtaskContext context, int operatorIndex, in TRecord record, Exception exception)
        {
            if (exception is OperatorFailedException or OperationCanceledException)
            {
                return exception;
            }

            OperatorDescriptor op = context.Chain.Operators[operatorIndex];
            return new OperatorFailedException(op, context.SubtaskIndex, context.Parallelism, Describe(record), exception);
        }

        /// <summary>A short, safe text form of a record for error messages.</summary>
        public static string Describe<TRecord>(in TRecord record)
        {
            string text;
            try
            {
                text = record?.ToString() ?? "null";
            }
            catch (Exception ex)
            {
                text = $"<{typeof(TRecord).Name}: ToString threw {ex.GetType().Name}>";
            }

            if (text.Length > MaxRecordText)
            {
                text = string.Concat(text.AsSpan(0, MaxRecordText), "…");
            }

            return $"{typeof(TRecord).Name} {text}";
        }
    }
}

namespace Weir
{
    using Weir.CompilerServices;

    /// <summary>User code in an operator threw while processing a record; the job fails with this.</summary>
    public sealed class OperatorFailedException : Exception
    {
        internal OperatorFailedException(OperatorDescriptor op, int subtaskIndex, int parallelism, string record, Exception inner)
            : base($"{op} (subtask {subtaskIndex + 1}/{parallelism}) threw {inner.GetType().Name}: {inner.Message} -- while processing record: {record}", inner)
        {
            Operator = op;
            SubtaskIndex = subtaskIndex;
            Record = record;
        }

        /// <summary>The operator whose code threw.</summary>
        public OperatorDescriptor Operator { get; }

        /// <summary>The subtask it ran on.</summary>
        public int SubtaskIndex { get; }

        /// <summary>A description of the record being processed.</summary>
        public string Record { get; }
    }

    /// <summary>A job ended with a failure.</summary>
    public sealed class JobFailedException : Exception
    {
        internal JobFailedException(string jobName, Exception cause)
            : base($"Job '{jobName}' failed: {cause.Message}", cause)
        {
        }
    }
}
