using Weir.Checkpointing.Storage;
using Weir.Execution;

namespace Weir.Checkpointing.Snapshots
{
    /// <summary>
    /// Where one operator subtask writes its state files for one checkpoint (a view of a
    /// <see cref="PendingCheckpoint"/> for that operator and subtask).
    /// </summary>
    public sealed class SnapshotOutput
    {
        private readonly PendingCheckpoint _checkpoint;

        /// <summary>Creates the output of one operator subtask.</summary>
        public SnapshotOutput(PendingCheckpoint checkpoint, string operatorId, int subtaskIndex, KeyGroupRange keyGroups)
        {
            _checkpoint = checkpoint;
            OperatorId = operatorId;
            SubtaskIndex = subtaskIndex;
            KeyGroups = keyGroups;
        }

        /// <summary>The checkpoint being written.</summary>
        public long CheckpointId => _checkpoint.CheckpointId;

        /// <summary>The operator whose state is written.</summary>
        public string OperatorId { get; }

        /// <summary>The subtask whose state is written.</summary>
        public int SubtaskIndex { get; }

        /// <summary>The key groups the subtask owns.</summary>
        public KeyGroupRange KeyGroups { get; }

        /// <summary>
        /// Begins a file only this checkpoint uses (deleted with it). Commit it with
        /// <see cref="StateFileWriter.Commit"/> and return its reference from
        /// <see cref="IStateSnapshot.Write"/> under <paramref name="name"/>.
        /// </summary>
        public StateFileWriter CreateExclusiveFile(string name) => _checkpoint.CreateExclusiveStateFile(OperatorId, SubtaskIndex, name);

        /// <summary>
        /// For a savepoint: begins the file of one keyed state of the subtask. Return its reference
        /// with <see cref="SubtaskStateFile.StateName"/> set to <paramref name="stateName"/>.
        /// </summary>
        /// <exception cref="System.InvalidOperationException">The checkpoint is not a savepoint.</exception>
        public StateFileWriter CreateSavepointKeyedStateFile(string piece, string stateName) => _checkpoint.CreateSavepointKeyedStateFile(OperatorId, SubtaskIndex, piece, stateName);

        /// <summary>
        /// Begins a file later checkpoints may reference again (incremental state): it lives as long
        /// as a retained checkpoint returns it.
        /// </summary>
        public StateFileWriter CreateSharedFile(string name) => _checkpoint.CreateSharedStateFile(OperatorId, SubtaskIndex, name);
    }
}
