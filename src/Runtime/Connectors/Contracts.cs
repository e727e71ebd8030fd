using System;
using System.Threading;
using Weir.Checkpointing.Coordinator;
using Weir.Checkpointing.Snapshots;

namespace Weir.Connectors
{
    /// <summary>
    /// A source: a factory of one reader per subtask. Implemented by sealed classes or structs; the
    /// reader type is a type parameter so the generated subtask calls it without virtual dispatch.
    /// </summary>
    public interface ISource<T, TReader>
        where TReader : ISourceReader<T>
    {
        /// <summary>True when the input ends (the job ends once every source has ended).</summary>
        bool IsBounded { get; }

        /// <summary>Creates the reader of one subtask; it reads that subtask's share of the input.</summary>
        TReader CreateReader(SourceContext context);
    }

    /// <summary>Reads a source's records in batches.</summary>
    public interface ISourceReader<T> : IDisposable
    {
        /// <summary>
        /// Fills <paramref name="buffer"/> with the next records. Returns how many were written, 0 when
        /// none are available now (the caller flushes its output and asks again), or -1 when the input
        /// has ended. May block briefly while waiting for input.
        /// </summary>
        int Read(Span<T> buffer);
    }

    /// <summary>A sink: a factory of one writer per subtask.</summary>
    public interface ISink<T, TWriter>
        where TWriter : ISinkWriter<T>
    {
        /// <summary>Creates the writer of one subtask.</summary>
        TWriter CreateWriter(SinkContext context);
    }

    /// <summary>Writes records to an external system.</summary>
    public interface ISinkWriter<T> : IDisposable
    {
        /// <summary>Writes one record (buffered; called on the hot path).</summary>
        void Write(in T record);

        /// <summary>Pushes buffered records out (called when the subtask is idle).</summary>
        void Flush();

        /// <summary>
        /// Called once when all input has been written: make the output durable and visible (commit).
        /// Not called when the job fails or is aborted.
        /// </summary>
        void Finish();
    }

    /// <summary>Where a source reader runs.</summary>
    public sealed class SourceContext
    {
        /// <summary>Creates a context; <paramref name="checkpoints"/> is null when the job runs without checkpoints.</summary>
        public SourceContext(string operatorId, int subtaskIndex, int parallelism, CancellationToken stopToken, CheckpointParticipation? checkpoints = null, SourceSplits? splits = null)
        {
            Splits = splits ?? new SourceSplits();
            OperatorId = operatorId;
            SubtaskIndex = subtaskIndex;
            Parallelism = parallelism;
            StopToken = stopToken;
            Checkpoints = checkpoints;
        }

        /// <summary>How this reader takes part in checkpoints; null when the job runs without them.</summary>
        public CheckpointParticipation? Checkpoints { get; }

        /// <summary>
        /// Where the reader reports its splits and which one its records come from, so that event time
        /// keeps a watermark per split; a reader that reports nothing is one timeline.
        /// </summary>
        public SourceSplits Splits { get; }

        /// <summary>The source's explicit operator ID.</summary>
        public string OperatorId { get; }

        /// <summary>This reader's subtask index, in [0, Parallelism).</summary>
        public int SubtaskIndex { get; }

        /// <summary>The source's parallelism.</summary>
        public int Parallelism { get; }

        /// <summary>Signalled when the job is asked to stop reading (Ctrl+C, stop).</summary>
        public CancellationToken StopToken { get; }
    }

    /// <summary>Where a sink writer runs.</summary>
    public sealed class SinkContext
    {
        /// <summary>Creates a context; <paramref name="checkpoints"/> is null when the job runs without checkpoints.</summary>
        public SinkContext(string operatorId, int subtaskIndex, int parallelism, CheckpointParticipation? checkpoints = null)
        {
            OperatorId = operatorId;
            SubtaskIndex = subtaskIndex;
            Parallelism = parallelism;
            Checkpoints = checkpoints;
        }

        /// <summary>
        /// How this writer takes part in checkpoints; null when the job runs without them (then
        /// <see cref="ISinkWriter{T}.Finish"/> commits everything at the end of input).
        /// </summary>
        public CheckpointParticipation? Checkpoints { get; }

        /// <summary>The sink's explicit operator ID.</summary>
        public string OperatorId { get; }

        /// <summary>This writer's subtask index, in [0, Parallelism).</summary>
        public int SubtaskIndex { get; }

        /// <summary>The sink's parallelism.</summary>
        public int Parallelism { get; }
    }
}

namespace Weir.Connectors
{
    /// <summary>
    /// How a source reader or sink writer takes part in checkpoints: it registers the state it keeps
    /// (a reader's position, a sink's pending transactions) and is then snapshotted at every barrier,
    /// restored before its first record, and told when checkpoints complete or are aborted.
    /// </summary>
    public sealed class CheckpointParticipation
    {
        private readonly Action<ICheckpointedState> _register;

        /// <summary>Creates the participation of one subtask.</summary>
        public CheckpointParticipation(CheckpointingMode mode, string attemptId, Action<ICheckpointedState> register)
        {
            Mode = mode;
            AttemptId = attemptId;
            _register = register;
        }

        /// <summary>The job's delivery guarantee.</summary>
        public CheckpointingMode Mode { get; }

        /// <summary>
        /// A name unique to this run attempt of the job (letters and digits): files a writer creates
        /// can carry it, so after a restore it can tell its own new files from a failed attempt's leftovers.
        /// </summary>
        public string AttemptId { get; }

        /// <summary>Registers state to snapshot and restore; call it from the reader's or writer's creation.</summary>
        public void Register(ICheckpointedState state) => _register(state ?? throw new ArgumentNullException(nameof(state)));
    }
}
