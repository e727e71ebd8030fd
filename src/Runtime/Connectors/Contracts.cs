using System;
using System.Threading;

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
        /// <summary>Creates a context.</summary>
        public SourceContext(string operatorId, int subtaskIndex, int parallelism, CancellationToken stopToken)
        {
            OperatorId = operatorId;
            SubtaskIndex = subtaskIndex;
            Parallelism = parallelism;
            StopToken = stopToken;
        }

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
        /// <summary>Creates a context.</summary>
        public SinkContext(string operatorId, int subtaskIndex, int parallelism)
        {
            OperatorId = operatorId;
            SubtaskIndex = subtaskIndex;
            Parallelism = parallelism;
        }

        /// <summary>The sink's explicit operator ID.</summary>
        public string OperatorId { get; }

        /// <summary>This writer's subtask index, in [0, Parallelism).</summary>
        public int SubtaskIndex { get; }

        /// <summary>The sink's parallelism.</summary>
        public int Parallelism { get; }
    }
}
