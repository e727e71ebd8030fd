using Weir.State;

namespace Weir
{
    /// <summary>
    /// Non-keyed list state of one operator subtask that is split evenly on rescale (Flink's operator
    /// ListState): on restore at a new parallelism the lists of all old subtasks are concatenated in
    /// subtask order and cut into contiguous, near-equal chunks, one per new subtask; at the same
    /// parallelism each subtask gets its own list back. Sources keep their split offsets in it.
    /// </summary>
    /// <typeparam name="T">The type of the entries.</typeparam>
    public sealed class OperatorListState<T> : OperatorListStateBase<T>
    {
        /// <summary>Creates an empty state.</summary>
        /// <param name="name">The state's name, unique within its operator.</param>
        /// <param name="serializer">Writes entries to snapshots, for example <see cref="MemoryPackStateSerializer{T}.Instance"/>.</param>
        public OperatorListState(string name, IStateSerializer<T> serializer)
            : base(name, serializer)
        {
        }

        /// <inheritdoc/>
        public override OperatorStateDistribution Distribution => OperatorStateDistribution.SplitEvenly;

        private protected override StateSnapshotKind SnapshotKind => StateSnapshotKind.SplitList;

        private protected override T[] Redistribute(T[][] oldLists, int subtaskIndex, int newParallelism)
            => OperatorStateRedistribution.SplitEvenlyShare(oldLists, newParallelism, subtaskIndex);
    }

    /// <summary>
    /// Non-keyed list state of one operator subtask that every subtask receives whole on restore
    /// (Flink's union ListState): each new subtask gets the concatenation of all old subtasks' lists,
    /// and keeps what it needs (for example the offsets of the splits it is assigned).
    /// </summary>
    /// <typeparam name="T">The type of the entries.</typeparam>
    public sealed class UnionListState<T> : OperatorListStateBase<T>
    {
        /// <summary>Creates an empty state.</summary>
        /// <param name="name">The state's name, unique within its operator.</param>
        /// <param name="serializer">Writes entries to snapshots, for example <see cref="MemoryPackStateSerializer{T}.Instance"/>.</param>
        public UnionListState(string name, IStateSerializer<T> serializer)
            : base(name, serializer)
        {
        }

        /// <inheritdoc/>
        public override OperatorStateDistribution Distribution => OperatorStateDistribution.Union;

        private protected override StateSnapshotKind SnapshotKind => StateSnapshotKind.UnionList;

        private protected override T[] Redistribute(T[][] oldLists, int subtaskIndex, int newParallelism)
            => OperatorStateRedistribution.UnionShare(oldLists);
    }
}
