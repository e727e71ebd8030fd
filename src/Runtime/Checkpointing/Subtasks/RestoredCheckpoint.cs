using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Weir.Checkpointing.Storage;

namespace Weir.Checkpointing.Subtasks
{
    /// <summary>
    /// The completed checkpoint or savepoint a run restores from: its operators' state by operator
    /// ID, and a way to read its files.
    /// </summary>
    internal sealed class RestoredCheckpoint
    {
        private readonly Dictionary<string, OperatorStateMetadata> _operators;
        private readonly Func<StateFileReference, Stream> _open;

        public RestoredCheckpoint(CompletedCheckpoint checkpoint, CheckpointCatalog catalog)
            : this(checkpoint, catalog.OpenStateFile, savepointDirectory: null)
        {
        }

        private RestoredCheckpoint(CompletedCheckpoint checkpoint, Func<StateFileReference, Stream> open, string? savepointDirectory)
        {
            CheckpointId = checkpoint.CheckpointId;
            MaxParallelism = checkpoint.Metadata.MaxParallelism;
            Metadata = checkpoint.Metadata;
            _operators = checkpoint.Metadata.Operators.ToDictionary(o => o.OperatorId, StringComparer.Ordinal);
            _open = open;
            SavepointDirectory = savepointDirectory;
        }

        public long CheckpointId { get; }

        /// <summary>Whether state the job no longer has may be dropped (<c>--allow-non-restored-state</c>).</summary>
        public bool AllowNonRestoredState { get; init; }

        public int MaxParallelism { get; }

        public CheckpointMetadata Metadata { get; }

        /// <summary>The savepoint's directory when restoring from a savepoint (null: a checkpoint of the job's directory).</summary>
        public string? SavepointDirectory { get; }

        /// <summary>Restores from the savepoint in <paramref name="directory"/> (read with <see cref="CheckpointCatalog.ReadSavepoint"/>).</summary>
        public static RestoredCheckpoint FromSavepoint(CompletedCheckpoint savepoint, string directory, bool allowNonRestoredState = false)
        {
            string full = Path.GetFullPath(directory);
            return new RestoredCheckpoint(savepoint, file => CheckpointCatalog.OpenSavepointFile(full, file), full) { AllowNonRestoredState = allowNonRestoredState };
        }

        public OperatorStateMetadata? Operator(string operatorId) => _operators.GetValueOrDefault(operatorId);

        public Stream Open(StateFileReference file) => _open(file);
    }
}
