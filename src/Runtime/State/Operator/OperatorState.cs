using System;
using System.Buffers;
using System.Collections.Generic;

namespace Weir.State
{
    /// <summary>How an operator state's per-subtask contents are redistributed when a job is restored (see <see cref="OperatorStateRedistribution"/>).</summary>
    public enum OperatorStateDistribution
    {
        /// <summary>The subtasks' lists are concatenated and split into near-equal contiguous chunks (Flink's SPLIT_DISTRIBUTE).</summary>
        SplitEvenly,

        /// <summary>Every subtask receives the concatenation of all subtasks' lists (Flink's UNION).</summary>
        Union,

        /// <summary>Every subtask holds the same map; a new subtask copies one old subtask's (Flink's BROADCAST).</summary>
        Broadcast,
    }

    /// <summary>
    /// Non-keyed state of one operator subtask (Flink's operator state). Checkpointing and restore
    /// code handles every kind through this type: it snapshots each subtask's state to bytes and, on
    /// restore, hands each new subtask all old subtasks' snapshots to pick from by the state's
    /// <see cref="Distribution"/>. A state is used by its subtask's thread only.
    /// </summary>
    public abstract class OperatorState
    {
        private protected OperatorState(string name)
        {
            ArgumentException.ThrowIfNullOrEmpty(name);
            Name = name;
        }

        /// <summary>The state's name, unique within its operator; snapshots are matched to states by it.</summary>
        public string Name { get; }

        /// <summary>How the state is redistributed on restore.</summary>
        public abstract OperatorStateDistribution Distribution { get; }

        /// <summary>Appends a snapshot of the state's contents (see <c>StateSnapshotFormat</c>) to <paramref name="output"/>.</summary>
        public abstract void WriteSnapshot(IBufferWriter<byte> output);

        /// <summary>
        /// Replaces the state's contents with those of a snapshot taken by a state of the same name and
        /// kind. On any defect it throws <see cref="StateSnapshotException"/> and leaves the state unchanged.
        /// </summary>
        public abstract void RestoreSnapshot(ReadOnlySpan<byte> snapshot);

        /// <summary>
        /// Replaces the state's contents with this subtask's share of the snapshots of all subtasks of
        /// the previous run, by <see cref="Distribution"/>; the previous parallelism is
        /// <c>oldSubtaskSnapshots.Count</c>. On any defect it throws <see cref="StateSnapshotException"/>
        /// and leaves the state unchanged.
        /// </summary>
        /// <param name="oldSubtaskSnapshots">One snapshot per old subtask, in subtask order.</param>
        /// <param name="subtaskIndex">This subtask's index in the new run.</param>
        /// <param name="newParallelism">The new run's parallelism.</param>
        public abstract void RestoreRedistributed(IReadOnlyList<ReadOnlyMemory<byte>> oldSubtaskSnapshots, int subtaskIndex, int newParallelism);

        private protected static void ValidateSubtask(IReadOnlyList<ReadOnlyMemory<byte>> oldSubtaskSnapshots, int subtaskIndex, int newParallelism)
        {
            ArgumentNullException.ThrowIfNull(oldSubtaskSnapshots);
            if (oldSubtaskSnapshots.Count == 0)
            {
                throw new ArgumentException("A restored state needs the snapshot of at least one old subtask.", nameof(oldSubtaskSnapshots));
            }

            ArgumentOutOfRangeException.ThrowIfLessThan(newParallelism, 1);
            if ((uint)subtaskIndex >= (uint)newParallelism)
            {
                throw new ArgumentOutOfRangeException(nameof(subtaskIndex), subtaskIndex, $"A subtask index must be in [0, {newParallelism}).");
            }
        }
    }
}
