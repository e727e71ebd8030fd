using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Weir.Checkpointing.Storage
{
    /// <summary>A checkpoint whose metadata was written: it can be recovered from.</summary>
    /// <param name="CheckpointId">The checkpoint's ID.</param>
    /// <param name="Metadata">What the checkpoint holds.</param>
    public sealed record CompletedCheckpoint(long CheckpointId, CheckpointMetadata Metadata)
    {
        /// <summary>Every shared file the checkpoint refers to (paths relative to the job directory).</summary>
        internal IEnumerable<string> SharedFiles
            => Metadata.Operators.SelectMany(o => o.Subtasks).SelectMany(s => s.Files)
                .Select(f => f.File.Path).Where(CheckpointLayout.IsShared).Distinct(StringComparer.Ordinal);

        /// <summary>Every state file the checkpoint refers to.</summary>
        internal IEnumerable<StateFileReference> StateFiles
            => Metadata.Operators.SelectMany(o => o.Subtasks).SelectMany(s => s.Files).Select(f => f.File);
    }

    /// <summary>
    /// The checkpoints of one job in checkpoint storage (layout: <see cref="CheckpointLayout"/>):
    /// which are complete, which one to recover from, which to keep, and which files may be
    /// deleted. Opening it cleans up after a crash: abandoned writes, checkpoint directories
    /// without metadata and shared files no checkpoint refers to are removed, and the reference
    /// counts of shared files are rebuilt from the metadata of the complete checkpoints, so a
    /// restart neither leaks a file nor deletes one that is still needed. One process at a time
    /// may open a job's directory. Thread-safe.
    /// </summary>
    /// <example>
    /// <code>
    /// var catalog = CheckpointCatalog.Open(new LocalCheckpointStorage("/var/weir/checkpoints"), "wordcount",
    ///     new CheckpointRetention { RetainedCheckpoints = 2 }, logger);
    /// CompletedCheckpoint? restored = catalog.SelectForRecovery();   // verifies, falls back, logs
    /// PendingCheckpoint pending = catalog.BeginCheckpoint(catalog.NextCheckpointId, DateTimeOffset.UtcNow);
    /// using (StateFileWriter writer = pending.CreateSharedStateFile("count", 0, "keyed"))
    /// {
    ///     snapshot.WriteTo(writer.Stream);
    ///     pending.Acknowledge("count", parallelism: 1, subtaskIndex: 0, keyGroups: null, [new("keyed", writer.Commit())]);
    /// }
    /// catalog.Complete(pending, maxParallelism: 128);                  // _metadata, then retention
    /// </code>
    /// </example>
    public sealed class CheckpointCatalog
    {
        private readonly object _lock = new();
        private readonly ILogger _logger;
        private readonly string _jobDirectory;
        private readonly List<CompletedCheckpoint> _retained = [];
        // Checkpoints that must not be recovered from (unreadable metadata, or state files that
        // failed verification) but are left for inspection until a newer checkpoint completes.
        private readonly SortedDictionary<long, CheckpointCorruptException> _unusable = [];
        private readonly Dictionary<string, int> _sharedFileHolders = new(StringComparer.Ordinal);
        private readonly Dictionary<long, PendingCheckpoint> _pending = [];
        private long _highestCheckpointId;

        private CheckpointCatalog(ICheckpointStorage storage, string jobName, CheckpointRetention retention, ILogger logger)
        {
            Storage = storage;
            JobName = jobName;
            Retention = retention;
            _logger = logger;
            _jobDirectory = jobName;
        }

        /// <summary>The storage holding the job's directory.</summary>
        public ICheckpointStorage Storage { get; }

        /// <summary>The job, which is also the name of its directory in <see cref="Storage"/>.</summary>
        public string JobName { get; }

        /// <summary>How many checkpoints are kept, and what cancellation keeps.</summary>
        public CheckpointRetention Retention { get; }

        /// <summary>The retained completed checkpoints, oldest first (without those found unusable).</summary>
        public IReadOnlyList<CompletedCheckpoint> Retained
        {
            get
            {
                lock (_lock)
                {
                    return _retained.ToArray();
                }
            }
        }

        /// <summary>
        /// The ID for the next checkpoint: one above every checkpoint ever seen in the directory,
        /// complete or not, so IDs keep increasing across restarts and never reuse a directory.
        /// </summary>
        public long NextCheckpointId
        {
            get
            {
                lock (_lock)
                {
                    return _highestCheckpointId + 1;
                }
            }
        }

        /// <summary>The running job's state manifest (canonical JSON), recorded in the metadata of every checkpoint and savepoint it completes.</summary>
        public string? StateManifestJson { get; set; }

        /// <summary>
        /// Opens the checkpoints of <paramref name="jobName"/> in <paramref name="storage"/> and
        /// cleans up what a crash left behind (see the class remarks).
        /// </summary>
        /// <exception cref="CheckpointStorageException">The directory cannot be read or cleaned.</exception>
        public static CheckpointCatalog Open(ICheckpointStorage storage, string jobName, CheckpointRetention? retention = null, ILogger? logger = null)
        {
            ArgumentNullException.ThrowIfNull(storage);
            CheckpointLayout.ValidateJobName(jobName);
            var catalog = new CheckpointCatalog(storage, jobName, retention ?? new CheckpointRetention(), logger ?? NullLogger.Instance);
            catalog.Load();
            return catalog;
        }

        /// <summary>
        /// Picks the checkpoint to recover from: the latest complete one whose metadata and every
        /// state file verify (frame and checksum, without decoding). Each newer checkpoint that is
        /// passed over is logged in one warning line saying why and which checkpoint is used instead.
        /// </summary>
        /// <param name="verifyStateFiles">Check every state file's checksum (reads all the state once); off, only the metadata is checked.</param>
        /// <returns>The checkpoint to restore, or null when there is none (a fresh start).</returns>
        public CompletedCheckpoint? SelectForRecovery(bool verifyStateFiles = true)
        {
            lock (_lock)
            {
                var passedOver = new List<(long Id, CheckpointCorruptException Reason)>();
                CompletedCheckpoint? chosen = null;
                for (int i = _retained.Count - 1; i >= 0 && chosen is null; i--)
                {
                    CompletedCheckpoint candidate = _retained[i];
                    CheckpointCorruptException? problem = verifyStateFiles ? FindCorruptStateFile(candidate) : null;
                    if (problem is null)
                    {
                        chosen = candidate;
                    }
                    else
                    {
                        _retained.RemoveAt(i);
                        _unusable[candidate.CheckpointId] = problem;
                        passedOver.Add((candidate.CheckpointId, problem));
                    }
                }

                // Checkpoints whose metadata could not be read at all are also newer than the chosen one.
                foreach ((long id, CheckpointCorruptException reason) in _unusable)
                {
                    if (id > (chosen?.CheckpointId ?? 0) && !passedOver.Exists(p => p.Id == id))
                    {
                        passedOver.Add((id, reason));
                    }
                }

                foreach ((long id, CheckpointCorruptException reason) in passedOver.OrderByDescending(p => p.Id))
                {
                    if (chosen is not null)
                    {
                        _logger.LogWarning(
                            "Checkpoint {CheckpointId} of job '{Job}' is skipped for recovery: {Reason} Recovering from checkpoint {FallbackId} instead.",
                            id, JobName, reason.Message, chosen.CheckpointId);
                    }
                    else
                    {
                        _logger.LogError(
                            "Checkpoint {CheckpointId} of job '{Job}' is skipped for recovery: {Reason} No earlier complete checkpoint is usable: the job starts without state.",
                            id, JobName, reason.Message);
                    }
                }

                return chosen;
            }
        }

        /// <summary>
        /// Opens a state file of a completed checkpoint for restore, decompressed and checked against
        /// what the metadata recorded (see <see cref="StateFileReader.Open"/>).
        /// </summary>
        public Stream OpenStateFile(StateFileReference file)
        {
            ArgumentNullException.ThrowIfNull(file);
            return StateFileReader.Open(Storage, StoragePath(file.Path), file);
        }

        /// <summary>
        /// Starts checkpoint <paramref name="checkpointId"/>, which must be higher than every
        /// checkpoint seen so far (use <see cref="NextCheckpointId"/> after a restart).
        /// </summary>
        public PendingCheckpoint BeginCheckpoint(long checkpointId, DateTimeOffset triggerTime)
        {
            lock (_lock)
            {
                if (checkpointId <= _highestCheckpointId)
                {
                    throw new InvalidOperationException($"Checkpoint {checkpointId} of job '{JobName}' is not above the highest checkpoint ID already used ({_highestCheckpointId}).");
                }

                _highestCheckpointId = checkpointId;
                var pending = new PendingCheckpoint(this, checkpointId, triggerTime);
                _pending.Add(checkpointId, pending);
                return pending;
            }
        }

        /// <summary>
        /// Starts savepoint <paramref name="checkpointId"/> (IDs are shared with checkpoints): every
        /// file goes into <paramref name="directory"/>, which must not exist or be empty. The savepoint
        /// is never retained or deleted by the catalog once complete.
        /// </summary>
        /// <exception cref="CheckpointStorageException">The directory exists and holds files.</exception>
        public PendingCheckpoint BeginSavepoint(long checkpointId, DateTimeOffset triggerTime, string directory)
        {
            ArgumentException.ThrowIfNullOrEmpty(directory);
            string full = Path.GetFullPath(directory);
            if (Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).Any())
            {
                throw new CheckpointStorageException(full, $"Savepoint target '{full}' already exists and is not empty: give a new directory (--target) so no savepoint is overwritten.");
            }

            lock (_lock)
            {
                if (checkpointId <= _highestCheckpointId)
                {
                    throw new InvalidOperationException($"Savepoint {checkpointId} of job '{JobName}' is not above the highest checkpoint ID already used ({_highestCheckpointId}).");
                }

                _highestCheckpointId = checkpointId;
                var pending = new PendingCheckpoint(this, checkpointId, triggerTime, new LocalCheckpointStorage(full));
                _pending.Add(checkpointId, pending);
                return pending;
            }
        }

        /// <summary>
        /// Reads the savepoint in <paramref name="directory"/> (its <c>_metadata</c>, checked, and
        /// every state file verified), for a restore. Its files are opened through <see cref="OpenSavepointFile"/>.
        /// </summary>
        /// <exception cref="CheckpointCorruptException">The metadata or a state file is missing, damaged, or not a savepoint's.</exception>
        public static CompletedCheckpoint ReadSavepoint(string directory)
        {
            ArgumentException.ThrowIfNullOrEmpty(directory);
            var storage = new LocalCheckpointStorage(directory);
            string location = storage.GetLocation(CheckpointLayout.MetadataFileName);
            if (!storage.Exists(CheckpointLayout.MetadataFileName))
            {
                throw new CheckpointCorruptException(location, CheckpointCorruption.Missing, "there is no savepoint here (no _metadata): give the directory a savepoint command printed.");
            }

            byte[] content;
            using (Stream stream = storage.OpenRead(CheckpointLayout.MetadataFileName))
            {
                content = new byte[stream.Length];
                stream.ReadExactly(content);
            }

            CheckpointMetadata metadata = CheckpointMetadataFormat.DeserializeAny(content, location);
            if (!metadata.Savepoint)
            {
                throw new CheckpointCorruptException(location, CheckpointCorruption.InvalidMetadata, "it is a checkpoint's metadata, whose files lie in the job's checkpoint directory: restore a checkpoint by running with its --checkpoint-dir, or take a savepoint.");
            }

            var completed = new CompletedCheckpoint(metadata.CheckpointId, metadata);
            foreach (StateFileReference file in completed.StateFiles)
            {
                StateFileReader.Verify(storage, file.Path, file);
            }

            return completed;
        }

        /// <summary>Opens a state file of the savepoint in <paramref name="directory"/> (see <see cref="ReadSavepoint"/>).</summary>
        public static Stream OpenSavepointFile(string directory, StateFileReference file)
        {
            ArgumentNullException.ThrowIfNull(file);
            return StateFileReader.Open(new LocalCheckpointStorage(directory), file.Path, file);
        }

        /// <summary>
        /// Completes <paramref name="pending"/> once every subtask has acknowledged: writes its
        /// <c>_metadata</c> atomically (temp file, fsync, rename), then applies retention: the
        /// oldest checkpoints beyond <see cref="CheckpointRetention.RetainedCheckpoints"/>, and
        /// unusable ones, are deleted with every shared file no retained checkpoint still needs.
        /// </summary>
        /// <exception cref="CheckpointStorageException">The metadata could not be written; the checkpoint is aborted.</exception>
        public CompletedCheckpoint Complete(PendingCheckpoint pending, int maxParallelism, DateTimeOffset? completionTime = null)
        {
            ArgumentNullException.ThrowIfNull(pending);
            ArgumentOutOfRangeException.ThrowIfLessThan(maxParallelism, 1);
            // Ended outside the catalog's lock: Acknowledge takes the pending lock, then this one.
            IReadOnlyList<OperatorStateMetadata> operators = pending.End();
            lock (_lock)
            {
                if (!_pending.Remove(pending.CheckpointId))
                {
                    throw new InvalidOperationException($"Checkpoint {pending.CheckpointId} does not belong to this catalog.");
                }

                long latest = _retained.Count == 0 ? 0 : _retained[^1].CheckpointId;
                var metadata = new CheckpointMetadata
                {
                    JobName = JobName,
                    CheckpointId = pending.CheckpointId,
                    TriggerTime = pending.TriggerTime,
                    CompletionTime = completionTime ?? DateTimeOffset.UtcNow,
                    MaxParallelism = maxParallelism,
                    Operators = operators,
                    Savepoint = pending.IsSavepoint,
                    StateManifest = StateManifestJson,
                };

                // The oldest version that can describe it: checkpoints stay readable by builds that read only version 1.
                metadata = metadata with { FormatVersion = CheckpointMetadataFormat.RequiredVersion(metadata) };
                if (pending.SavepointStorage is { } savepoint)
                {
                    // Not retained, not reference-counted: the user owns it from now on.
                    try
                    {
                        string location = savepoint.GetLocation(CheckpointLayout.MetadataFileName);
                        CheckpointMetadataFormat.Validate(metadata, location, JobName, pending.CheckpointId);
                        savepoint.PublishAtomically(CheckpointLayout.MetadataFileName, CheckpointMetadataFormat.Serialize(metadata));
                    }
                    catch
                    {
                        DiscardPending(pending);
                        throw;
                    }

                    return new CompletedCheckpoint(pending.CheckpointId, metadata);
                }

                try
                {
                    if (pending.CheckpointId < latest)
                    {
                        throw new InvalidOperationException($"Checkpoint {pending.CheckpointId} of job '{JobName}' completes after checkpoint {latest}, which subsumes it.");
                    }

                    string location = Storage.GetLocation(StoragePath(CheckpointLayout.MetadataPath(pending.CheckpointId)));
                    CheckpointMetadataFormat.Validate(metadata, location, JobName, pending.CheckpointId);
                    Storage.PublishAtomically(StoragePath(CheckpointLayout.MetadataPath(pending.CheckpointId)), CheckpointMetadataFormat.Serialize(metadata));
                }
                catch
                {
                    DiscardPending(pending);
                    throw;
                }

                var completed = new CompletedCheckpoint(pending.CheckpointId, metadata);
                foreach (string created in pending.CreatedSharedFiles)
                {
                    if (pending.ReferencedSharedFiles.Contains(created))
                    {
                        Hold(created);
                    }
                    else
                    {
                        DeleteQuietly(StoragePath(created)); // written, then left out of every acknowledgement
                    }
                }

                _retained.Add(completed);
                ApplyRetention();
                return completed;
            }
        }

        /// <summary>
        /// Abandons <paramref name="pending"/> (declined, timed out, subsumed, or the job stops):
        /// deletes its directory and the shared files it created, and releases the shared files it
        /// was holding. Nothing happens if it has already completed or been aborted.
        /// </summary>
        public void Abort(PendingCheckpoint pending)
        {
            ArgumentNullException.ThrowIfNull(pending);
            if (!pending.TryEnd())
            {
                return;
            }

            lock (_lock)
            {
                if (_pending.Remove(pending.CheckpointId))
                {
                    DiscardPending(pending);
                }
            }
        }

        /// <summary>
        /// Ends the job's use of the directory: aborts pending checkpoints and keeps or deletes the
        /// completed ones by how the job ended (see <see cref="JobTermination"/>).
        /// </summary>
        public void Close(JobTermination termination)
        {
            PendingCheckpoint[] pending;
            lock (_lock)
            {
                pending = _pending.Values.ToArray();
            }

            foreach (PendingCheckpoint checkpoint in pending)
            {
                Abort(checkpoint);
            }

            bool keep = termination is JobTermination.Failed or JobTermination.Finished
                || (termination == JobTermination.Cancelled && Retention.RetainOnCancellation);
            if (keep)
            {
                return;
            }

            DeleteAll("the job was cancelled");
        }

        /// <summary>
        /// Deletes every checkpoint of the job (a fresh start was asked for, or a cancelled job does
        /// not retain them), saying why in one log line.
        /// </summary>
        public void DeleteAll(string reason)
        {
            lock (_lock)
            {
                // Metadata first, newest last: a crash half-way leaves the newest checkpoint whole.
                foreach (CompletedCheckpoint checkpoint in _retained.ToArray())
                {
                    Discard(checkpoint.CheckpointId, checkpoint);
                }

                foreach (long id in _unusable.Keys.ToArray())
                {
                    Discard(id, null);
                }

                _retained.Clear();
                _unusable.Clear();

                // Savepoints (and a running job's control endpoint) are not checkpoints: they stay.
                foreach (string name in Storage.ListDirectories(_jobDirectory))
                {
                    if (name != CheckpointLayout.SavepointsDirectoryName)
                    {
                        Storage.DeleteDirectory(StoragePath(name));
                    }
                }

                foreach (string name in Storage.ListFiles(_jobDirectory))
                {
                    if (!name.StartsWith('_'))
                    {
                        Storage.Delete(StoragePath(name));
                    }
                }

                _logger.LogInformation("Checkpoints of job '{Job}' deleted: {Reason}.", JobName, reason);
            }
        }

        /// <summary>How many retained or pending checkpoints hold the shared file (0 when none).</summary>
        internal int HoldersOf(string sharedPath)
        {
            lock (_lock)
            {
                return _sharedFileHolders.GetValueOrDefault(sharedPath);
            }
        }

        internal string StoragePath(string relativePath) => _jobDirectory + "/" + relativePath;

        /// <summary>Makes a pending checkpoint hold shared files it reuses; each must still be held by a retained checkpoint.</summary>
        internal void HoldReusedSharedFiles(PendingCheckpoint pending, IReadOnlyList<string> paths)
        {
            lock (_lock)
            {
                foreach (string path in paths)
                {
                    if (_sharedFileHolders.GetValueOrDefault(path) == 0)
                    {
                        throw new InvalidOperationException($"Checkpoint {pending.CheckpointId} reuses shared file '{path}', which no retained checkpoint holds any more (it is deleted or about to be); write the state again.");
                    }
                }

                foreach (string path in paths)
                {
                    Hold(path);
                }
            }
        }

        private void Load()
        {
            int abandonedWrites = Storage.DeleteAbandonedWrites(_jobDirectory);
            int incomplete = 0;
            foreach (string name in Storage.ListDirectories(_jobDirectory))
            {
                if (!CheckpointLayout.TryParseCheckpointDirectory(name, out long id))
                {
                    continue; // "shared", or something that is not ours: left alone.
                }

                _highestCheckpointId = Math.Max(_highestCheckpointId, id);
                string metadataPath = StoragePath(CheckpointLayout.MetadataPath(id));
                if (!Storage.Exists(metadataPath))
                {
                    // The process stopped before every subtask acknowledged: never complete, never needed.
                    Storage.DeleteDirectory(StoragePath(name));
                    incomplete++;
                    continue;
                }

                try
                {
                    _retained.Add(new CompletedCheckpoint(id, ReadMetadata(metadataPath, id)));
                }
                catch (CheckpointCorruptException e)
                {
                    // Not deleted: it may be worth inspecting, and a newer checkpoint's completion subsumes it.
                    _unusable.Add(id, e);
                }
            }

            _retained.Sort((a, b) => a.CheckpointId.CompareTo(b.CheckpointId));
            foreach (CompletedCheckpoint checkpoint in _retained)
            {
                foreach (string path in checkpoint.SharedFiles)
                {
                    Hold(path);
                }
            }

            // Shared files no complete checkpoint refers to were written by checkpoints that never
            // completed (or whose metadata is unreadable); nothing is in flight while opening.
            int unreferenced = 0;
            foreach (string name in Storage.ListFiles(StoragePath(CheckpointLayout.SharedDirectoryName)))
            {
                string relative = CheckpointLayout.SharedDirectoryName + "/" + name;
                if (!_sharedFileHolders.ContainsKey(relative))
                {
                    Storage.Delete(StoragePath(relative));
                    unreferenced++;
                }
            }

            _logger.LogInformation(
                "Checkpoints of job '{Job}' in '{Location}': {Complete} complete (latest {Latest}), {Unreadable} with unreadable metadata; removed {Abandoned} abandoned writes, {Incomplete} incomplete checkpoints and {Unreferenced} unreferenced shared files.",
                JobName, Storage.GetLocation(_jobDirectory), _retained.Count, _retained.Count == 0 ? "none" : _retained[^1].CheckpointId, _unusable.Count, abandonedWrites, incomplete, unreferenced);
        }

        private CheckpointMetadata ReadMetadata(string metadataPath, long checkpointId)
        {
            string location = Storage.GetLocation(metadataPath);
            using Stream stream = Storage.OpenRead(metadataPath);
            byte[] content = new byte[stream.Length];
            try
            {
                stream.ReadExactly(content);
            }
            catch (EndOfStreamException e)
            {
                throw new CheckpointCorruptException(location, CheckpointCorruption.Truncated, "the file got shorter while it was being read.", e);
            }

            return CheckpointMetadataFormat.Deserialize(content, location, JobName, checkpointId);
        }

        private CheckpointCorruptException? FindCorruptStateFile(CompletedCheckpoint checkpoint)
        {
            foreach (StateFileReference file in checkpoint.StateFiles)
            {
                try
                {
                    StateFileReader.Verify(Storage, StoragePath(file.Path), file);
                }
                catch (CheckpointCorruptException e)
                {
                    return e;
                }
            }

            return null;
        }

        private void ApplyRetention()
        {
            long newest = _retained[^1].CheckpointId;
            foreach (long id in _unusable.Keys.Where(id => id < newest).ToArray())
            {
                Discard(id, null);
            }

            while (_retained.Count > Retention.RetainedCheckpoints)
            {
                CompletedCheckpoint subsumed = _retained[0];
                if (!Discard(subsumed.CheckpointId, subsumed))
                {
                    break; // Its metadata could not be deleted; the next completion tries again.
                }
            }
        }

        /// <summary>
        /// Deletes a checkpoint: its metadata first, so a crash half-way leaves an incomplete
        /// directory (removed on the next start) rather than a complete checkpoint missing files;
        /// then the shared files only it held, then its directory.
        /// </summary>
        /// <returns>False when the metadata could not be deleted (it stays, to be retried).</returns>
        private bool Discard(long checkpointId, CompletedCheckpoint? checkpoint)
        {
            try
            {
                Storage.Delete(StoragePath(CheckpointLayout.MetadataPath(checkpointId)));
            }
            catch (CheckpointStorageException e)
            {
                _logger.LogWarning("Subsumed checkpoint {CheckpointId} of job '{Job}' could not be deleted and stays until the next checkpoint completes: {Reason}", checkpointId, JobName, e.Message);
                return false;
            }

            if (checkpoint is not null)
            {
                _retained.Remove(checkpoint);
                foreach (string path in checkpoint.SharedFiles)
                {
                    Release(path);
                }
            }

            _unusable.Remove(checkpointId);
            try
            {
                Storage.DeleteDirectory(StoragePath(CheckpointLayout.CheckpointDirectory(checkpointId)));
            }
            catch (CheckpointStorageException e)
            {
                _logger.LogWarning("The directory of subsumed checkpoint {CheckpointId} of job '{Job}' could not be deleted; it is removed at the next start: {Reason}", checkpointId, JobName, e.Message);
            }

            return true;
        }

        private void DiscardPending(PendingCheckpoint pending)
        {
            if (pending.SavepointStorage is { } savepoint)
            {
                try
                {
                    Directory.Delete(savepoint.RootDirectory, recursive: true);
                }
                catch (DirectoryNotFoundException)
                {
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    _logger.LogWarning("The directory '{Directory}' of aborted savepoint {CheckpointId} of job '{Job}' could not be deleted: {Reason}", savepoint.RootDirectory, pending.CheckpointId, JobName, e.Message);
                }

                return;
            }

            foreach (string path in pending.ReferencedSharedFiles)
            {
                if (!pending.CreatedSharedFiles.Contains(path))
                {
                    Release(path);
                }
            }

            foreach (string created in pending.CreatedSharedFiles)
            {
                DeleteQuietly(StoragePath(created));
            }

            try
            {
                Storage.DeleteDirectory(StoragePath(CheckpointLayout.CheckpointDirectory(pending.CheckpointId)));
            }
            catch (CheckpointStorageException e)
            {
                _logger.LogWarning("The directory of aborted checkpoint {CheckpointId} of job '{Job}' could not be deleted; it is removed at the next start: {Reason}", pending.CheckpointId, JobName, e.Message);
            }
        }

        private void Hold(string sharedPath)
            => _sharedFileHolders[sharedPath] = _sharedFileHolders.GetValueOrDefault(sharedPath) + 1;

        private void Release(string sharedPath)
        {
            int holders = _sharedFileHolders.GetValueOrDefault(sharedPath) - 1;
            if (holders > 0)
            {
                _sharedFileHolders[sharedPath] = holders;
                return;
            }

            _sharedFileHolders.Remove(sharedPath);
            DeleteQuietly(StoragePath(sharedPath));
        }

        private void DeleteQuietly(string storagePath)
        {
            try
            {
                Storage.Delete(storagePath);
            }
            catch (CheckpointStorageException e)
            {
                // Unreferenced shared files are swept when the catalog next opens.
                _logger.LogWarning("Checkpoint file '{Path}' of job '{Job}' is no longer needed but could not be deleted; it is removed at the next start: {Reason}", e.FilePath, JobName, e.Message);
            }
        }
    }
}
