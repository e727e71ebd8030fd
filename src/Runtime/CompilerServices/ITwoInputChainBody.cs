using System;

namespace Weir.CompilerServices
{
    /// <summary>
    /// The per-record code of a fused chain whose head operator has two inputs of different types
    /// (a keyed stream connected with a broadcast stream), emitted by Weir.Generator as a struct. The
    /// runtime's two-input subtask loop is generic over it, so both batch methods and everything they
    /// call are direct calls on structs, as for <see cref="IChainBody{TIn}"/>.
    /// </summary>
    /// <typeparam name="TIn1">The records of the first (keyed) input.</typeparam>
    /// <typeparam name="TIn2">The records of the second (broadcast) input.</typeparam>
    public interface ITwoInputChainBody<TIn1, TIn2> : IEventTimeChain
    {
        /// <summary>Runs every record of a batch of the first input through the chain.</summary>
        void ProcessBatch1(ReadOnlySpan<TIn1> records, ReadOnlySpan<long> timestamps);

        /// <summary>Runs every record of a batch of the second input through the chain.</summary>
        void ProcessBatch2(ReadOnlySpan<TIn2> records, ReadOnlySpan<long> timestamps);


        /// <summary>The subtask is idle: push partly filled output batches and sink buffers out.</summary>
        void Flush();

        /// <summary>Both inputs have ended: signal end of input downstream and commit sinks.</summary>
        void EndOfInput();

        /// <summary>Releases resources; always called, after success, failure or abort.</summary>
        void Close();
    }
}
