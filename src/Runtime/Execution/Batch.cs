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

        /// <summary>
        /// Event time at the sender has advanced to <see cref="Batch{T}.Watermark"/>: no record with a
        /// timestamp at or below it will follow from this sender.
        /// </summary>
        Watermark,

        /// <summary>
        /// The sender became idle (<see cref="Batch{T}.Idle"/> true: it sends no records for now and must
        /// not hold back the receiver's event time) or active again (false).
        /// </summary>
        WatermarkStatus,
    }

    /// <summary>
    /// A reusable array of records sent through an exchange. Batches are pooled per receiving gate, so
    /// in steady state an exchange allocates nothing.
    /// </summary>
    public sealed class Batch<T>
    {
        internal Batch(int capacity)
        {
            Items = new T[capacity];
            Timestamps = new long[capacity];
        }

        /// <summary>The records; the first <see cref="Count"/> are valid.</summary>
        internal readonly T[] Items;

        /// <summary>
        /// The records' event-time timestamps (<see cref="Weir.Time.Watermarks.NoTimestamp"/> for records that
        /// have none), written only by jobs that use event time.
        /// </summary>
        internal readonly long[] Timestamps;

        /// <summary>Number of valid records.</summary>
        internal int Count;

        /// <summary>Data or a control marker.</summary>
        internal BatchKind Kind;

        /// <summary>The sending subtask's channel number at the receiving gate (for alignment).</summary>
        internal int Channel;

        /// <summary>The checkpoint of a barrier or cancellation marker.</summary>
        internal long CheckpointId;

        /// <summary>The watermark of a <see cref="BatchKind.Watermark"/> marker.</summary>
        internal long Watermark;

        /// <summary>The status of a <see cref="BatchKind.WatermarkStatus"/> marker: idle (true) or active.</summary>
        internal bool Idle;

        internal ReadOnlySpan<T> Records => new(Items, 0, Count);

        internal ReadOnlySpan<long> RecordTimestamps => new(Timestamps, 0, Count);

        internal void Reset()
        {
            if (RuntimeHelpers.IsReferenceOrContainsReferences<T>())
            {
                Array.Clear(Items, 0, Count);
            }

            Count = 0;
            Kind = BatchKind.Data;
            CheckpointId = 0;
            Watermark = 0;
            Idle = false;
        }
    }
}
