using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Weir.Checkpointing.Storage;
using Weir.Execution;

namespace Weir.Checkpointing.Snapshots
{
    /// <summary>
    /// One operator's state in a checkpoint, as a restoring subtask sees it: the files of every old
    /// subtask (the old parallelism may differ from the new one), and where the new subtask stands.
    /// </summary>
    public sealed class RestoredOperatorState
    {
        private readonly Func<StateFileReference, Stream> _open;

        /// <summary>Creates the view; <paramref name="open"/> opens a file decompressed and checksum-verified.</summary>
        public RestoredOperatorState(
            long checkpointId,
            string operatorId,
            int subtaskIndex,
            int parallelism,
            KeyGroupRange keyGroups,
            int maxParallelism,
            IReadOnlyList<SubtaskStateMetadata> oldSubtasks,
            int oldParallelism,
            Func<StateFileReference, Stream> open)
        {
            CheckpointId = checkpointId;
            OperatorId = operatorId;
            SubtaskIndex = subtaskIndex;
            Parallelism = parallelism;
            KeyGroups = keyGroups;
            MaxParallelism = maxParallelism;
            OldSubtasks = oldSubtasks;
            OldParallelism = oldParallelism;
            _open = open;
        }

        /// <summary>
        /// Whether state the operator no longer has may be dropped (<c>--allow-non-restored-state</c>):
        /// e.g. a savepoint's file of a keyed state the operator no longer declares.
        /// </summary>
        public bool AllowNonRestoredState { get; init; }

        /// <summary>The checkpoint restored from.</summary>
        public long CheckpointId { get; }

        /// <summary>The operator.</summary>
        public string OperatorId { get; }

        /// <summary>The restoring subtask's index.</summary>
        public int SubtaskIndex { get; }

        /// <summary>The operator's parallelism now.</summary>
        public int Parallelism { get; }

        /// <summary>The key groups the restoring subtask owns.</summary>
        public KeyGroupRange KeyGroups { get; }

        /// <summary>The job's max parallelism.</summary>
        public int MaxParallelism { get; }

        /// <summary>The operator's parallelism when the checkpoint was taken.</summary>
        public int OldParallelism { get; }

        /// <summary>Every old subtask's state (index, key groups, files), in subtask order.</summary>
        public IReadOnlyList<SubtaskStateMetadata> OldSubtasks { get; }

        /// <summary>
        /// The files of one piece of state (<see cref="ICheckpointedState.StateKind"/>) of one old
        /// subtask: those named <paramref name="stateKind"/> or starting with it and a '.', in the order
        /// the snapshot returned them.
        /// </summary>
        public IReadOnlyList<SubtaskStateFile> FilesOf(SubtaskStateMetadata oldSubtask, string stateKind)
            => oldSubtask.Files
                .Where(f => f.Name == stateKind || f.Name.StartsWith(stateKind + ".", StringComparison.Ordinal))
                .ToArray();

        /// <summary>The old subtasks whose key groups overlap the restoring subtask's (keyed state).</summary>
        public IEnumerable<SubtaskStateMetadata> OverlappingOldSubtasks()
            => OldSubtasks.Where(s => s.KeyGroups is not { } range || (range.Start <= KeyGroups.End && KeyGroups.Start <= range.End));

        /// <summary>Opens a state file for reading: decompressed, its checksum verified when read to the end.</summary>
        /// <exception cref="CheckpointCorruptException">The file is missing, truncated or corrupt.</exception>
        public Stream Open(StateFileReference file) => _open(file);
    }
}
