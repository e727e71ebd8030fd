using System;
using System.Buffers;
using System.Collections.Generic;
using System.IO;
using Weir.Checkpointing.Snapshots;
using Weir.Checkpointing.Storage;
using Weir.State;

namespace Weir.Connectors
{
    /// <summary>
    /// How connectors keep their own checkpointed state: one operator list state (even-split or
    /// union, <see cref="OperatorStateRedistribution"/>) per piece, written as one state file named
    /// after the piece's <see cref="ICheckpointedState.StateKind"/> holding the list's snapshot bytes
    /// (<c>StateSnapshotFormat</c>). Connector state is small (split offsets, transaction handles,
    /// a write-ahead batch), so the synchronous phase serializes it into memory and the asynchronous
    /// phase only copies those bytes into the file.
    /// </summary>
    internal static class ConnectorState
    {
        /// <summary>Captures <paramref name="state"/>'s current contents (on the processing thread).</summary>
        public static IStateSnapshot Capture(OperatorState state, string stateKind)
        {
            var bytes = new ArrayBufferWriter<byte>();
            state.WriteSnapshot(bytes);
            return new BytesSnapshot(stateKind, bytes.WrittenMemory);
        }

        /// <summary>
        /// Replaces <paramref name="state"/> with this subtask's share of the old subtasks' files of
        /// <paramref name="stateKind"/>, redistributed by the state's own rule.
        /// </summary>
        /// <exception cref="InvalidDataException">An old subtask has no file of this piece.</exception>
        public static void Restore(OperatorState state, RestoredOperatorState restored, string stateKind)
        {
            var snapshots = new ReadOnlyMemory<byte>[restored.OldSubtasks.Count];
            for (int i = 0; i < snapshots.Length; i++)
            {
                SubtaskStateMetadata old = restored.OldSubtasks[i];
                IReadOnlyList<SubtaskStateFile> files = restored.FilesOf(old, stateKind);
                if (files.Count != 1)
                {
                    throw new InvalidDataException(
                        $"Checkpoint {restored.CheckpointId} holds {files.Count} '{stateKind}' files for operator '{restored.OperatorId}' subtask {old.SubtaskIndex}; its connector writes exactly one.");
                }

                using Stream stream = restored.Open(files[0].File);
                var buffer = new MemoryStream();
                stream.CopyTo(buffer);
                snapshots[i] = buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
            }

            state.RestoreRedistributed(snapshots, restored.SubtaskIndex, restored.Parallelism);
        }

        private sealed class BytesSnapshot(string stateKind, ReadOnlyMemory<byte> bytes) : IStateSnapshot
        {
            public IReadOnlyList<SubtaskStateFile> Write(SnapshotOutput output)
            {
                using StateFileWriter file = output.CreateExclusiveFile(stateKind);
                file.Stream.Write(bytes.Span);
                return [new SubtaskStateFile(stateKind, file.Commit())];
            }
        }
    }
}
