using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Weir.Execution;

namespace Weir.Checkpointing.Storage
{
    /// <summary>
    /// A checkpoint whose state files are being written: subtasks create their files through it
    /// and acknowledge them; <see cref="CheckpointCatalog.Complete"/> then writes the metadata, or
    /// <see cref="CheckpointCatalog.Abort"/> deletes what was written. Thread-safe: subtasks
    /// write and acknowledge from their own threads.
    /// </summary>
    public sealed class PendingCheckpoint
    {
        private readonly CheckpointCatalog _catalog;
        private readonly object _lock = new();
        private readonly Dictionary<string, OperatorAcknowledgements> _operators = new(StringComparer.Ordinal);
        private readonly HashSet<string> _createdSharedFiles = new(StringComparer.Ordinal);
        private readonly HashSet<string> _referencedSharedFiles = new(StringComparer.Ordinal);
        private bool _ended;

        internal PendingCheckpoint(CheckpointCatalog catalog, long checkpointId, DateTimeOffset triggerTime, LocalCheckpointStorage? savepoint = null)
        {
            _catalog = catalog;
            CheckpointId = checkpointId;
            TriggerTime = triggerTime;
            SavepointStorage = savepoint;
        }

        /// <summary>Whether this is a savepoint (full, self-contained, written to its own directory, never retained).</summary>
        public bool IsSavepoint => SavepointStorage is not null;

        /// <summary>For a savepoint: its directory, where every file and the metadata go.</summary>
        public string? SavepointDirectory => SavepointStorage?.RootDirectory;

        internal LocalCheckpointStorage? SavepointStorage { get; }

        /// <summary>The checkpoint's ID.</summary>
        public long CheckpointId { get; }

        /// <summary>When the checkpoint was triggered.</summary>
        public DateTimeOffset TriggerTime { get; }

        /// <summary>
        /// Begins a state file only this checkpoint will use (a full snapshot), in its own
        /// directory: it is deleted with the checkpoint.
        /// </summary>
        public StateFileWriter CreateExclusiveStateFile(string operatorId, int subtaskIndex, string name, StateFileCodec codec = StateFileCodec.Zstd)
        {
            if (SavepointStorage is { } savepoint)
            {
                return CreateSavepointFile(savepoint, operatorId, subtaskIndex, name, codec);
            }

            string relative = CheckpointLayout.CheckpointDirectory(CheckpointId) + "/" + FileName(operatorId, subtaskIndex, name, unique: false);
            lock (_lock)
            {
                ThrowIfEnded();
            }

            return StateFileWriter.Create(_catalog.Storage, _catalog.StoragePath(relative), relative, codec);
        }

        /// <summary>
        /// Begins the file of one keyed state of a subtask in a savepoint
        /// (<see cref="CheckpointLayout.SavepointKeyedStateFile"/>); checkpoints keep all keyed states in one file.
        /// </summary>
        /// <exception cref="InvalidOperationException">This is a checkpoint, not a savepoint.</exception>
        public StateFileWriter CreateSavepointKeyedStateFile(string operatorId, int subtaskIndex, string piece, string stateName, StateFileCodec codec = StateFileCodec.Zstd)
        {
            ArgumentNullException.ThrowIfNull(operatorId);
            ArgumentOutOfRangeException.ThrowIfNegative(subtaskIndex);
            LocalCheckpointStorage savepoint = SavepointStorage
                ?? throw new InvalidOperationException($"Checkpoint {CheckpointId} is not a savepoint: only savepoints split keyed state into files per state (operator '{operatorId}', state '{stateName}').");
            string relative = CheckpointLayout.SavepointKeyedStateFile(operatorId, subtaskIndex, piece, stateName);
            lock (_lock)
            {
                ThrowIfEnded();
            }

            return StateFileWriter.Create(savepoint, relative, relative, codec);
        }

        /// <summary>
        /// Begins a state file that later checkpoints may refer to again without rewriting it
        /// (incremental checkpoints), in the shared directory under a name never used before: it
        /// lives as long as a retained checkpoint refers to it.
        /// </summary>
        public StateFileWriter CreateSharedStateFile(string operatorId, int subtaskIndex, string name, StateFileCodec codec = StateFileCodec.Zstd)
        {
            if (SavepointStorage is { } savepoint)
            {
                // Nothing is shared with a savepoint: a copy of the directory must be complete.
                return CreateSavepointFile(savepoint, operatorId, subtaskIndex, name, codec);
            }

            string relative = CheckpointLayout.SharedDirectoryName + "/" + FileName(operatorId, subtaskIndex, name, unique: true);
            lock (_lock)
            {
                ThrowIfEnded();
                // Recorded before the file exists, so an abort deletes it even if it was committed
                // but never acknowledged.
                _createdSharedFiles.Add(relative);
            }

            return StateFileWriter.Create(_catalog.Storage, _catalog.StoragePath(relative), relative, codec);
        }

        /// <summary>
        /// Records a subtask's state for this checkpoint: files it created through this checkpoint,
        /// and shared files of earlier checkpoints it still needs (unchanged state, referenced
        /// instead of rewritten). A reused shared file must still be held by a retained checkpoint;
        /// from now on this checkpoint holds it too, so it cannot be deleted before this one ends.
        /// </summary>
        /// <exception cref="InvalidOperationException">The subtask already acknowledged, or a file cannot belong to this checkpoint.</exception>
        public void Acknowledge(string operatorId, int parallelism, int subtaskIndex, KeyGroupRange? keyGroups, IReadOnlyList<SubtaskStateFile> files)
        {
            ArgumentNullException.ThrowIfNull(operatorId);
            ArgumentNullException.ThrowIfNull(files);
            ArgumentOutOfRangeException.ThrowIfLessThan(parallelism, 1);
            ArgumentOutOfRangeException.ThrowIfNegative(subtaskIndex);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(subtaskIndex, parallelism);
            foreach (SubtaskStateFile file in files)
            {
                if (IsSavepoint)
                {
                    if (!CheckpointLayout.IsValidSavepointFilePath(file.File.Path) || CheckpointLayout.IsShared(file.File.Path))
                    {
                        throw new InvalidOperationException($"Operator '{operatorId}' subtask {subtaskIndex} acknowledged '{file.File.Path}' for savepoint {CheckpointId}, which may only hold files it wrote into its own directory.");
                    }

                    continue;
                }

                if (!CheckpointLayout.IsValidStateFilePath(file.File.Path, CheckpointId))
                {
                    throw new InvalidOperationException($"Operator '{operatorId}' subtask {subtaskIndex} acknowledged '{file.File.Path}', which checkpoint {CheckpointId} cannot use: only its own directory and '{CheckpointLayout.SharedDirectoryName}/'.");
                }
            }

            lock (_lock)
            {
                ThrowIfEnded();
                if (!_operators.TryGetValue(operatorId, out OperatorAcknowledgements? acknowledgements))
                {
                    acknowledgements = new OperatorAcknowledgements(parallelism);
                    _operators.Add(operatorId, acknowledgements);
                }
                else if (acknowledgements.Parallelism != parallelism)
                {
                    throw new InvalidOperationException($"Operator '{operatorId}' acknowledged with parallelism {parallelism} and {acknowledgements.Parallelism} in checkpoint {CheckpointId}.");
                }

                if (acknowledgements.Subtasks.ContainsKey(subtaskIndex))
                {
                    throw new InvalidOperationException($"Operator '{operatorId}' subtask {subtaskIndex} acknowledged checkpoint {CheckpointId} twice.");
                }

                var reused = files.Select(f => f.File.Path)
                    .Where(p => !IsSavepoint && CheckpointLayout.IsShared(p) && !_createdSharedFiles.Contains(p) && !_referencedSharedFiles.Contains(p))
                    .Distinct(StringComparer.Ordinal)
                    .ToList();
                _catalog.HoldReusedSharedFiles(this, reused);
                foreach (SubtaskStateFile file in files)
                {
                    if (!IsSavepoint && CheckpointLayout.IsShared(file.File.Path))
                    {
                        _referencedSharedFiles.Add(file.File.Path);
                    }
                }

                acknowledgements.Subtasks.Add(subtaskIndex, new SubtaskStateMetadata { SubtaskIndex = subtaskIndex, KeyGroups = keyGroups, Files = files.ToArray() });
            }
        }

        /// <summary>How many subtasks have acknowledged so far.</summary>
        public int AcknowledgedSubtasks
        {
            get
            {
                lock (_lock)
                {
                    return _operators.Values.Sum(o => o.Subtasks.Count);
                }
            }
        }

        internal IReadOnlyCollection<string> ReferencedSharedFiles => _referencedSharedFiles;

        /// <summary>Whether <paramref name="relativePath"/> is a shared file this checkpoint created (not one reused from an earlier checkpoint).</summary>
        public bool CreatedSharedFile(string relativePath)
        {
            lock (_lock)
            {
                return _createdSharedFiles.Contains(relativePath);
            }
        }

        internal IReadOnlyCollection<string> CreatedSharedFiles => _createdSharedFiles;

        /// <summary>Ends the checkpoint for good and returns its operators' state, ordered for stable metadata.</summary>
        internal IReadOnlyList<OperatorStateMetadata> End()
        {
            lock (_lock)
            {
                ThrowIfEnded();
                _ended = true;
                return _operators
                    .OrderBy(o => o.Key, StringComparer.Ordinal)
                    .Select(o => new OperatorStateMetadata
                    {
                        OperatorId = o.Key,
                        Parallelism = o.Value.Parallelism,
                        Subtasks = o.Value.Subtasks.OrderBy(s => s.Key).Select(s => s.Value).ToArray(),
                    })
                    .ToArray();
            }
        }

        internal bool TryEnd()
        {
            lock (_lock)
            {
                if (_ended)
                {
                    return false;
                }

                _ended = true;
                return true;
            }
        }

        private StateFileWriter CreateSavepointFile(LocalCheckpointStorage savepoint, string operatorId, int subtaskIndex, string name, StateFileCodec codec)
        {
            ArgumentNullException.ThrowIfNull(operatorId);
            ArgumentOutOfRangeException.ThrowIfNegative(subtaskIndex);
            if (!CheckpointLayout.IsPortableName(name) || name[0] == '.')
            {
                throw new ArgumentException($"State file name '{name}' must use letters, digits, '.', '_' and '-' and not start with '.'.", nameof(name));
            }

            string relative = CheckpointLayout.SavepointStateFile(operatorId, subtaskIndex, name);
            lock (_lock)
            {
                ThrowIfEnded();
            }

            return StateFileWriter.Create(savepoint, relative, relative, codec);
        }

        // Operator IDs are user strings; their stable hash is a safe, fixed-length file name part.
        private static string FileName(string operatorId, int subtaskIndex, string name, bool unique)
        {
            ArgumentNullException.ThrowIfNull(operatorId);
            ArgumentOutOfRangeException.ThrowIfNegative(subtaskIndex);
            if (!CheckpointLayout.IsPortableName(name) || name[0] == '.')
            {
                throw new ArgumentException($"State file name '{name}' must use letters, digits, '.', '_' and '-' and not start with '.'.", nameof(name));
            }

            string stem = string.Create(CultureInfo.InvariantCulture, $"{OperatorIds.Hash(operatorId):x16}-{subtaskIndex}-{name}");
            return unique
                ? stem + "-" + Guid.NewGuid().ToString("N") + CheckpointLayout.StateFileExtension
                : stem + CheckpointLayout.StateFileExtension;
        }

        private void ThrowIfEnded()
        {
            if (_ended)
            {
                throw new InvalidOperationException($"Checkpoint {CheckpointId} has already completed or been aborted.");
            }
        }

        private sealed class OperatorAcknowledgements(int parallelism)
        {
            public int Parallelism { get; } = parallelism;

            public Dictionary<int, SubtaskStateMetadata> Subtasks { get; } = [];
        }
    }
}
