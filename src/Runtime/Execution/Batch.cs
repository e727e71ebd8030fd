using System;
using System.Runtime.CompilerServices;

namespace Weir.Execution
{
    /// <summary>What a batch carries through an exchange.</summary>
    public enum BatchKind
    {
        /// <summary>Records.</summary>
        Data,

        /// <summary>The sender has no more records (its input ended or the job is stopping).</summary>
        EndOfInput,

        /// <summary>
        /// A checkpoint barrier (<see cref="Batch{T}.CheckpointId"/>): every record the sender sent
        /// before it belongs to the checkpoint, every record after it to the next.
        /// </summary>
        Barrier,

        /// <summary>
        /// Checkpoint <see cref="Batch{T}.CheckpointId"/> was cancelled upstream: a receiver aligning it
        /// stops waiting for its barriers (Flink's CancelCheckpointMarker).
        /// </summary>
        CancelBarrier,
    }

    /// <summary>
    /// A reusable array of records sent through an exchange. Batches are pooled per receiving gate, so
    /// in steady state an exchange allocates nothing.
    /// </summary>
    public sealed class Batch<T>
    {
        internal Batch(int capacity) => Items = new T[capacity];

        /// <summary>The records; the first <see cref="Count"/> are valid.</summary>
        internal readonly T[] Items;

        /// <summary>Number of valid records.</summary>
        internal int Count;

        /// <summary>Data or a control marker.</summary>
        internal BatchKind Kind;

        /// <summary>The sending subtask's channel number at the receiving gate (for alignment).</summary>
        internal int Channel;

        /// <summary>The checkpoint of a barrier or cancellation marker.</summary>
        internal long CheckpointId;

        internal ReadOnlySpan<T> Records => new(Items, 0, Count);

        internal void Reset()
        {
            if (RuntimeHelpers.IsReferenceOrContainsReferences<T>())
            {
                Array.Clear(Items, 0, Count);
            }

            Count = 0;
            Kind = BatchKind.Data;
            CheckpointId = 0;
        }
    }
}
