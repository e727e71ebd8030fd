using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using Weir.Checkpointing.Snapshots;
using Weir.Checkpointing.Storage;
using Weir.Execution;

namespace Weir.State
{
    /// <summary>
    /// Checkpoints of keyed state: a snapshot is cut at the barrier without copying the state, then
    /// written on a snapshot thread while the processing thread goes on changing the table.
    /// </summary>
    /// <remarks>
    /// <para>
    /// <b>Versioning.</b> The store counts epochs: every snapshot ends one (<see cref="Epoch"/>
    /// + 1) and remembers the slot count at its barrier. Each slot records the epoch of its last
    /// selection (<see cref="TouchedEpoch"/>); the per-record cost is one comparison of that stamp
    /// with the current epoch. The first selection of a slot after a barrier (and slot reuse,
    /// eviction and time-to-live cleanup, which change slots without a selection) runs
    /// <see cref="Touch"/>: while a snapshot is being written it claims the slot for that snapshot
    /// and, if the snapshot needs the slot, copies its pre-image (its bytes as of the barrier) before
    /// the change. The snapshot thread claims the slots it has not been given with the same
    /// interlocked claim (<see cref="SlotCapture"/>), so the two threads never read and change one
    /// slot at once, and the snapshot holds the table exactly as of the barrier. Column arrays may be
    /// replaced by a larger copy meanwhile: the snapshot thread reads whichever array it sees, and a
    /// slot it has claimed is the same in both.
    /// </para>
    /// <para>
    /// <b>Incremental chain.</b> A completed checkpoint's files form a chain: a full base and deltas.
    /// A slot selected at or after <see cref="DirtySinceEpoch"/> (the epoch after the last completed
    /// barrier) may have changed and goes into the next delta; an aborted checkpoint leaves that mark
    /// where it was, so its changes roll into the next. Keys that leave their slot (a reused empty
    /// slot; on FASTER every write and delete of the spill store) are logged as entries in change
    /// batches, sealed at each barrier and written ahead of the slots (a later entry of a key wins).
    /// When the chain has <see cref="MaxDeltasBeforeMaterialization"/> deltas or the deltas together
    /// outgrow the base, the next checkpoint writes a new full base instead, by the same protocol.
    /// </para>
    /// <para>
    /// <b>FASTER.</b> Cached slots are versioned as above. For a full base the barrier also freezes the
    /// log (records below the tail become read-only, so later writes append) and holds compaction
    /// until the snapshot has read it; the snapshot thread then adds, from the log below the
    /// barrier's tail, each key's latest version there, except keys that were cached at the barrier.
    /// </para>
    /// </remarks>
    public abstract partial class KeyedStateStore : ICheckpointedState
    {
        /// <summary>The name of keyed state's files within its operator (<see cref="ICheckpointedState.StateKind"/>).</summary>
        public const string CheckpointStateKind = "keyed";

        private readonly List<ChangeBatch> _sealedChanges = new();
        private readonly List<KeyedStateTableSnapshot> _pending = new();
        private SlotWriter _changes = new();
        private SlotCapture? _capture;
        // Grown with the table (see Grow), so a barrier never allocates it; a running snapshot keeps
        // the array it started with.
        private int[] _claims = new int[64];
        private IReadOnlyList<ChainFile>? _chain;
        private long _completedCheckpointId = -1;
        private bool _recordsChanges;

        /// <summary>
        /// The first epoch whose selections count as changes since the last completed checkpoint (0
        /// before any: everything is new).
        /// </summary>
        private protected int DirtySinceEpoch;

        /// <summary>How many deltas a chain may have before the next checkpoint writes a full base.</summary>
        internal int MaxDeltasBeforeMaterialization { get; set; } = 8;

        /// <inheritdoc/>
        string ICheckpointedState.StateKind => CheckpointStateKind;

        /// <summary>Whether the processing thread logs keys leaving their slots (after the first snapshot: only deltas need them).</summary>
        private protected bool RecordsChanges => _recordsChanges;

        /// <summary>
        /// The synchronous phase at a barrier: ends the epoch, seals the change log and notes the
        /// slot count; copies no state. Cost: O(1) (plus, only when the previous snapshot is still
        /// being written, finishing its claims and a new claim array).
        /// </summary>
        public IStateSnapshot Snapshot(long checkpointId) => Snapshot(checkpointId, SnapshotKind.Checkpoint);

        /// <summary>
        /// The synchronous phase for a checkpoint or a savepoint. A savepoint's snapshot is always a
        /// full one, written to a file of the savepoint alone; its completion leaves the incremental
        /// chain, the change log and the dirty mark as they were, so the next checkpoint's delta still
        /// holds every change since the last completed checkpoint.
        /// </summary>
        public IStateSnapshot Snapshot(long checkpointId, SnapshotKind kind)
        {
            ReleaseFinishedHolds();
            bool savepoint = kind == SnapshotKind.Savepoint;

            // Overlapping checkpoints: the previous snapshot must hold every slot before a new
            // epoch starts, so the processing thread claims (and copies) what it has not reached yet.
            bool overlapping = _capture is { Finished: false };
            _capture?.ClaimAllOnProcessingThread();
            _capture = null;

            bool full = savepoint
                || _chain is null
                || ChainDeltaCount(_chain) >= MaxDeltasBeforeMaterialization
                || ChainDeltaBytes(_chain) > _chain[0].File.File.StoredLength;

            // A writer still running its pass keeps reading its claims: the new snapshot gets its own.
            if (overlapping)
            {
                _claims = new int[Capacity];
            }

            ChangeBatch[] changes = Array.Empty<ChangeBatch>();
            if (_recordsChanges && _changes.Length > 0)
            {
                _sealedChanges.Add(new ChangeBatch(Epoch, _changes));
                _changes = new SlotWriter();
            }

            if (!full)
            {
                changes = _sealedChanges.ToArray();
            }

            Epoch++;
            _recordsChanges = true;
            var capture = new SlotCapture(this, Epoch, SlotCount, _claims, full, DirtySinceEpoch, keepEmptyKeys: full && HasSpillStore);
            _capture = capture;
            var snapshot = new KeyedStateTableSnapshot(this, checkpointId, capture, full, _chain, changes, FreezeSpillStore(full), savepoint);
            _pending.Add(snapshot);
            return snapshot;
        }

        /// <inheritdoc/>
        public void NotifyCheckpointComplete(long checkpointId)
        {
            ReleaseFinishedHolds();
            KeyedStateTableSnapshot? newest = null;
            foreach (KeyedStateTableSnapshot snapshot in _pending)
            {
                if (snapshot.CheckpointId <= checkpointId && snapshot.ResultChain is not null && (newest is null || snapshot.CheckpointId > newest.CheckpointId))
                {
                    newest = snapshot;
                }
            }

            if (newest is not null && newest.CheckpointId > _completedCheckpointId)
            {
                _completedCheckpointId = newest.CheckpointId;
                _chain = newest.ResultChain;
                DirtySinceEpoch = newest.Capture.Epoch;

                // Batches sealed at or before its barrier are in the completed chain now.
                _sealedChanges.RemoveAll(batch => batch.SealedInEpoch < newest.Capture.Epoch);
            }

            _pending.RemoveAll(snapshot =>
            {
                if (snapshot.CheckpointId > checkpointId)
                {
                    return false;
                }

                snapshot.Capture.Abandon();
                return !snapshot.HoldsSpillStore;
            });
        }

        /// <inheritdoc/>
        public void NotifyCheckpointAborted(long checkpointId)
        {
            ReleaseFinishedHolds();

            // Nothing moves: the changes it captured are still marked changed (DirtySinceEpoch and
            // the sealed batches stay), so the next checkpoint writes them.
            foreach (KeyedStateTableSnapshot snapshot in _pending)
            {
                if (snapshot.CheckpointId == checkpointId)
                {
                    snapshot.Capture.Abandon();
                    snapshot.Aborted = true;
                }
            }

            _pending.RemoveAll(snapshot => snapshot.Aborted && !snapshot.HoldsSpillStore);
        }

        /// <inheritdoc/>
        public void Restore(RestoredOperatorState state)
        {
            ArgumentNullException.ThrowIfNull(state);
            var stateFiles = new List<SubtaskStateFile>();
            foreach (SubtaskStateMetadata oldSubtask in state.OverlappingOldSubtasks())
            {
                foreach (SubtaskStateFile file in state.FilesOf(oldSubtask, CheckpointStateKind))
                {
                    if (file.StateName is not null)
                    {
                        stateFiles.Add(file);
                        continue;
                    }

                    // A file of every state (checkpoints, older savepoints): its header must list exactly the declared states.
                    using System.IO.Stream stream = state.Open(file.File);
                    RestoreFile(stream, file.File.Path);

                    // Reading to the end verifies the file's checksum.
                    stream.CopyTo(System.IO.Stream.Null);
                }
            }

            // A savepoint's files per state: the states of every overlapping range are merged by key.
            // States the operator no longer declares are refused before any key is loaded; declared
            // states without files start empty.
            foreach (SubtaskStateFile file in DeclaredStateFiles(stateFiles, state))
            {
                using System.IO.Stream stream = state.Open(file.File);
                RestoreStateFile(stream, file.File.Path, file.StateName!);
                stream.CopyTo(System.IO.Stream.Null);
            }

            // The restored keys count as changed: the first checkpoint after a restore writes a full
            // base of this subtask's own (its key groups may differ from any old subtask's).
            _chain = null;
            _sealedChanges.Clear();
            _changes.Reset();
        }

        /// <summary>Applies one keyed state file (full or delta) of a checkpoint.</summary>
        private protected abstract void RestoreFile(System.IO.Stream stream, string path);

        /// <summary>Adds the one state of a savepoint's per-state file to the keys it names.</summary>
        private protected abstract void RestoreStateFile(System.IO.Stream stream, string path, string stateName);

        /// <summary>
        /// The per-state files of states the operator declares. Files of states it no longer declares
        /// are refused, naming operator and states, unless the restore allows dropping state
        /// (<c>--allow-non-restored-state</c>), which skips them.
        /// </summary>
        private List<SubtaskStateFile> DeclaredStateFiles(List<SubtaskStateFile> files, RestoredOperatorState state)
        {
            var declared = new HashSet<string>(StringComparer.Ordinal);
            foreach (StateColumn column in Columns)
            {
                declared.Add(column.Name);
            }

            var kept = new List<SubtaskStateFile>(files.Count);
            var removed = new SortedSet<string>(StringComparer.Ordinal);
            foreach (SubtaskStateFile file in files)
            {
                if (declared.Contains(file.StateName!))
                {
                    kept.Add(file);
                }
                else
                {
                    removed.Add(file.StateName!);
                }
            }

            if (removed.Count > 0 && !state.AllowNonRestoredState)
            {
                string names = string.Join(", ", removed.Select(n => "'" + n + "'"));
                throw new StateSnapshotException(removed.Min!,
                    $"Savepoint {state.CheckpointId} holds keyed state {names} of operator '{OperatorId}', which the operator no longer declares. " +
                    "Give the state back its name if it was renamed ([State(\"<old name>\")]), or run with --allow-non-restored-state to drop it.");
            }

            return kept;
        }

        /// <summary>Whether the table has a spill store (FASTER backend).</summary>
        private protected abstract bool HasSpillStore { get; }

        /// <summary>On FASTER, for a full base: freezes the log at its tail and holds compaction; returns the tail (−1: nothing frozen).</summary>
        private protected abstract long FreezeSpillStore(bool full);

        /// <summary>Gives future snapshots a claim array of the table's new capacity (zeros: no slot is claimed).</summary>
        private void GrowClaims(int capacity) => _claims = new int[capacity];

        /// <summary>Lets compaction run again once a snapshot no longer reads the log.</summary>
        private protected abstract void ReleaseSpillStore();

        /// <summary>
        /// Appends the snapshot entry of <paramref name="slot"/> to <paramref name="entries"/>, if the
        /// snapshot needs it; runs on whichever thread holds the slot's claim.
        /// </summary>
        internal abstract void AppendSnapshotEntry(int slot, SlotWriter entries, SlotWriter scratch, SlotCapture capture);

        /// <summary>On FASTER, writes the entries of the keys stored below <paramref name="frozenTail"/> that were not cached at the barrier.</summary>
        internal abstract void WriteStoredEntries(long frozenTail, HashSet<UInt128> cachedAtBarrier, Action<ReadOnlySpan<byte>> emit);

        /// <summary>Whether the slot was selected since the last completed checkpoint's barrier.</summary>
        private protected bool ChangedSinceCompleted(int slot) => TouchedEpoch[slot] >= DirtySinceEpoch;

        /// <summary>
        /// Runs before a slot changes for the first time in an epoch (selection, reuse, eviction,
        /// expiry): gives a running snapshot the slot's pre-image if it needs one, then stamps the slot.
        /// </summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private protected void Touch(int slot)
        {
            SlotCapture? capture = _capture;
            if (capture is not null)
            {
                if (capture.Finished)
                {
                    _capture = null;
                }
                else
                {
                    capture.ClaimOnProcessingThread(slot);
                }
            }

            TouchedEpoch[slot] = Epoch;
        }

        /// <summary>The change batch of the current epoch, where the processing thread appends entries of keys leaving their slots.</summary>
        private protected SlotWriter Changes => _changes;

        private void ReleaseFinishedHolds()
        {
            foreach (KeyedStateTableSnapshot snapshot in _pending)
            {
                if (snapshot.HoldsSpillStore && snapshot.StoreReadDone)
                {
                    snapshot.HoldsSpillStore = false;
                    ReleaseSpillStore();
                }
            }

            _pending.RemoveAll(snapshot => snapshot.Aborted && !snapshot.HoldsSpillStore);
        }

        private static int ChainDeltaCount(IReadOnlyList<ChainFile> chain) => chain.Count - 1;

        private static long ChainDeltaBytes(IReadOnlyList<ChainFile> chain)
        {
            long bytes = 0;
            for (int i = 1; i < chain.Count; i++)
            {
                bytes += chain[i].File.File.StoredLength;
            }

            return bytes;
        }
    }

    /// <summary>One file of a keyed state chain (a full base first, then deltas).</summary>
    internal sealed record ChainFile(SubtaskStateFile File, bool IsBase);

    /// <summary>Change entries logged in one epoch, sealed at its barrier (read-only from then on).</summary>
    internal sealed record ChangeBatch(int SealedInEpoch, SlotWriter Entries);

    /// <summary>
    /// The claims of one snapshot on the slots that existed at its barrier, and the pre-images the
    /// processing thread copied for it. A claim is the snapshot's epoch when done, its negation while a
    /// thread is copying the slot; anything else means the slot is as it was at the barrier.
    /// </summary>
    internal sealed class SlotCapture
    {
        private readonly KeyedStateStore _store;
        private readonly int[] _claims;
        private readonly SlotWriter _preImageScratch = new();
        private volatile bool _finished;

        public SlotCapture(KeyedStateStore store, int epoch, int barrierSlotCount, int[] claims, bool full, int dirtySinceEpoch, bool keepEmptyKeys)
        {
            _store = store;
            Epoch = epoch;
            BarrierSlotCount = barrierSlotCount;
            _claims = claims;
            Full = full;
            DirtySinceEpoch = dirtySinceEpoch;
            KeepEmptyKeys = keepEmptyKeys;
        }

        /// <summary>The epoch that began at the barrier (the claim value of this snapshot).</summary>
        public int Epoch { get; }

        /// <summary>Slots that existed at the barrier: only those belong to the snapshot.</summary>
        public int BarrierSlotCount { get; }

        /// <summary>Whether every key is written (a base), or only keys changed since <see cref="DirtySinceEpoch"/>.</summary>
        public bool Full { get; }

        /// <summary>Slots selected in this epoch or later changed since the last completed checkpoint.</summary>
        public int DirtySinceEpoch { get; }

        /// <summary>Whether a full snapshot also lists keys without state (FASTER: they hide the store's older versions).</summary>
        public bool KeepEmptyKeys { get; }

        /// <summary>Entries the processing thread copied before changing a slot; the snapshot thread reads them after its pass.</summary>
        public SlotWriter PreImages { get; } = new();

        /// <summary>Whether every slot has been handed over (or the snapshot was given up).</summary>
        public bool Finished => _finished;

        /// <summary>Processing thread, before changing <paramref name="slot"/>: makes sure the snapshot has its barrier state.</summary>
        public void ClaimOnProcessingThread(int slot)
        {
            if (slot >= BarrierSlotCount)
            {
                return;
            }

            ref int claim = ref _claims[slot];
            SpinWait spin = default;
            while (true)
            {
                int seen = Volatile.Read(ref claim);
                if (seen == Epoch || _finished)
                {
                    return;
                }

                if (seen == -Epoch)
                {
                    // The snapshot thread is writing this slot: a few microseconds.
                    spin.SpinOnce();
                    continue;
                }

                if (Interlocked.CompareExchange(ref claim, -Epoch, seen) == seen)
                {
                    try
                    {
                        _store.AppendSnapshotEntry(slot, PreImages, _preImageScratch, this);
                    }
                    finally
                    {
                        Volatile.Write(ref claim, Epoch);
                    }

                    return;
                }
            }
        }

        /// <summary>Processing thread, when a new snapshot begins before this one was written: takes every slot not yet taken.</summary>
        public void ClaimAllOnProcessingThread()
        {
            for (int slot = 0; slot < BarrierSlotCount && !_finished; slot++)
            {
                ClaimOnProcessingThread(slot);
            }
        }

        /// <summary>
        /// Snapshot thread: claims each slot of the barrier not yet copied by the processing thread and
        /// appends its entry to <paramref name="entries"/>, handing full buffers to <paramref name="flush"/>.
        /// </summary>
        public void RunWriterPass(SlotWriter entries, SlotWriter scratch, Action<SlotWriter> flush)
        {
            const int FlushAtBytes = 1 << 20;
            for (int slot = 0; slot < BarrierSlotCount; slot++)
            {
                ref int claim = ref _claims[slot];
                SpinWait spin = default;
                while (true)
                {
                    int seen = Volatile.Read(ref claim);
                    if (seen == Epoch)
                    {
                        break;
                    }

                    if (seen == -Epoch)
                    {
                        spin.SpinOnce();
                        continue;
                    }

                    if (Interlocked.CompareExchange(ref claim, -Epoch, seen) == seen)
                    {
                        try
                        {
                            _store.AppendSnapshotEntry(slot, entries, scratch, this);
                        }
                        finally
                        {
                            Volatile.Write(ref claim, Epoch);
                        }

                        break;
                    }
                }

                if (entries.Length >= FlushAtBytes)
                {
                    flush(entries);
                    entries.Reset();
                }
            }
        }

        /// <summary>Marks the capture done: the processing thread stops protecting slots for it.</summary>
        public void Abandon() => _finished = true;
    }
}

namespace Weir.State
{
    using System.Buffers;
    using System.Buffers.Binary;
    using System.IO;
    using System.IO.Hashing;
    using System.Linq;
    using Weir.State.Faster;

    /// <summary>
    /// The asynchronous phase of a keyed state checkpoint: writes one shared file (a full base or a
    /// delta) from the slots its <see cref="SlotCapture"/> protects and returns the chain; for a
    /// savepoint, one file per state, of the savepoint alone.
    /// </summary>
    internal sealed class KeyedStateTableSnapshot : IStateSnapshot
    {
        private readonly KeyedStateStore _store;
        private readonly bool _full;
        private readonly IReadOnlyList<ChainFile>? _chainBefore;
        private readonly ChangeBatch[] _changes;
        private readonly long _frozenTail;
        private IReadOnlyList<ChainFile>? _resultChain;
        private volatile bool _storeReadDone;

        private readonly bool _savepoint;

        public KeyedStateTableSnapshot(KeyedStateStore store, long checkpointId, SlotCapture capture, bool full, IReadOnlyList<ChainFile>? chainBefore, ChangeBatch[] changes, long frozenTail, bool savepoint)
        {
            _savepoint = savepoint;
            _store = store;
            CheckpointId = checkpointId;
            Capture = capture;
            _full = full;
            _chainBefore = chainBefore;
            _changes = changes;
            _frozenTail = frozenTail;
            HoldsSpillStore = frozenTail >= 0;
        }

        public long CheckpointId { get; }

        public SlotCapture Capture { get; }

        /// <summary>The chain this checkpoint returned, once its file is committed (null before, or if writing failed).</summary>
        public IReadOnlyList<ChainFile>? ResultChain => Volatile.Read(ref _resultChain);

        /// <summary>Whether it still holds the FASTER log frozen (processing thread).</summary>
        public bool HoldsSpillStore { get; set; }

        /// <summary>Whether the snapshot thread is done with the FASTER log (or never needed it).</summary>
        public bool StoreReadDone => _storeReadDone;

        /// <summary>Whether the checkpoint was aborted (processing thread).</summary>
        public bool Aborted { get; set; }

        /// <summary>The shared file's name: the state kind, base or delta, and the checkpoint (unique within the subtask).</summary>
        public string FileName => $"{KeyedStateStore.CheckpointStateKind}.{(_full ? "base" : "delta")}-{CheckpointId}";

        /// <inheritdoc/>
        public IReadOnlyList<SubtaskStateFile> Write(SnapshotOutput output)
        {
            ArgumentNullException.ThrowIfNull(output);
            try
            {
                return _savepoint ? WriteSavepoint(output) : WriteCheckpoint(output);
            }
            finally
            {
                Capture.Abandon();
                _storeReadDone = true;
            }
        }

        private IReadOnlyList<SubtaskStateFile> WriteCheckpoint(SnapshotOutput output)
        {
            using StateFileWriter file = output.CreateSharedFile(FileName);
            Stream stream = file.Stream;
            KeyedStateSnapshot.WriteHeader(_store.Columns, _full ? KeyedStateSnapshot.SnapshotContent.Full : KeyedStateSnapshot.SnapshotContent.Delta, stream);

            // Keys that left their slots before the barrier go first: the slots' state is newer.
            foreach (ChangeBatch batch in _changes)
            {
                stream.Write(batch.Entries.WrittenSpan);
            }

            WriteEntries(bytes => stream.Write(bytes));
            KeyedStateSnapshot.WriteEnd(stream);
            var written = new ChainFile(new SubtaskStateFile(FileName, file.Commit()), IsBase: _full);
            IReadOnlyList<ChainFile> chain = _full ? [written] : [.. _chainBefore!, written];
            Volatile.Write(ref _resultChain, chain);
            return chain.Select(c => c.File).ToArray();
        }

        /// <summary>
        /// A savepoint's keyed state: one file per declared state (docs/savepoints.md), all written in
        /// the same pass over the keys, each a full snapshot whose header lists just that state. Every
        /// state gets a file even when no key holds it, so the metadata lists all of the operator's states.
        /// </summary>
        private IReadOnlyList<SubtaskStateFile> WriteSavepoint(SnapshotOutput output)
        {
            IReadOnlyList<StateColumn> columns = _store.Columns;
            var directories = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (StateColumn column in columns)
            {
                string directory = CheckpointLayout.StateDirectoryName(column.Name);
                if (!directories.TryAdd(directory, column.Name))
                {
                    throw new StateSnapshotException(column.Name,
                        $"Cannot write the savepoint of operator '{_store.OperatorId}': its states '{directories[directory]}' and '{column.Name}' would share the directory '{directory}'. Rename one of them.");
                }
            }

            var files = new StateFileWriter[columns.Count];
            try
            {
                for (int i = 0; i < columns.Count; i++)
                {
                    files[i] = output.CreateSavepointKeyedStateFile(KeyedStateStore.CheckpointStateKind, columns[i].Name);
                    KeyedStateSnapshot.WriteHeader([columns[i]], KeyedStateSnapshot.SnapshotContent.Full, files[i].Stream);
                }

                // No result chain: the savepoint's completion leaves the incremental chain alone.
                var splitter = new EntriesByState(files, _store.OperatorId);
                WriteEntries(splitter.Write);
                var written = new SubtaskStateFile[columns.Count];
                for (int i = 0; i < columns.Count; i++)
                {
                    KeyedStateSnapshot.WriteEnd(files[i].Stream);
                    written[i] = new SubtaskStateFile(KeyedStateStore.CheckpointStateKind, files[i].Commit()) { StateName = columns[i].Name };
                }

                return written;
            }
            finally
            {
                foreach (StateFileWriter? file in files)
                {
                    file?.Dispose();
                }
            }
        }

        /// <summary>The one pass over the keys: the slots of the barrier, the pre-images, and on FASTER the log below the frozen tail.</summary>
        private void WriteEntries(Action<ReadOnlySpan<byte>> write)
        {
            HashSet<UInt128>? cachedAtBarrier = Capture.KeepEmptyKeys ? new HashSet<UInt128>() : null;
            var entries = new SlotWriter();
            var scratch = new SlotWriter();
            Capture.RunWriterPass(entries, scratch, buffer => Emit(buffer.WrittenSpan, write, cachedAtBarrier));
            Emit(entries.WrittenSpan, write, cachedAtBarrier);

            // Every slot of the barrier is handed over: the processing thread adds no more pre-images.
            Capture.Abandon();
            Emit(Capture.PreImages.WrittenSpan, write, cachedAtBarrier);
            if (_frozenTail >= 0)
            {
                _store.WriteStoredEntries(_frozenTail, cachedAtBarrier!, write);
            }

            _storeReadDone = true;
        }

        /// <summary>The key of a cached key in <see cref="SlotCapture.KeepEmptyKeys"/> bookkeeping: serialized key and key group.</summary>
        internal static UInt128 CachedKeyHash(int keyGroup, ReadOnlySpan<byte> serializedKey) => XxHash128.HashToUInt128(serializedKey, keyGroup);

        /// <summary>
        /// Writes entries to the file. For a FASTER base it also notes each key (they hide the store's
        /// older versions) and drops the entries of keys without state, which only served that.
        /// </summary>
        private void Emit(ReadOnlySpan<byte> buffer, Action<ReadOnlySpan<byte>> write, HashSet<UInt128>? cachedAtBarrier)
        {
            if (cachedAtBarrier is null)
            {
                write(buffer);
                return;
            }

            int position = 0;
            while (position < buffer.Length)
            {
                int start = position;
                int keyGroup = BinaryPrimitives.ReadInt32LittleEndian(buffer.Slice(position));
                int keyLength = BinaryPrimitives.ReadInt32LittleEndian(buffer.Slice(position + sizeof(int)));
                ReadOnlySpan<byte> key = buffer.Slice(position + (2 * sizeof(int)), keyLength);
                position += (2 * sizeof(int)) + keyLength;
                int slotLength = BinaryPrimitives.ReadInt32LittleEndian(buffer.Slice(position));
                position += sizeof(int) + slotLength;
                cachedAtBarrier.Add(CachedKeyHash(keyGroup, key));
                if (slotLength > 0 || !_full)
                {
                    write(buffer.Slice(start, position - start));
                }
            }
        }

        /// <summary>
        /// Splits snapshot entries (key group, key, the key's states in <see cref="KeyedSlotFormat"/>)
        /// into one entry per non-empty state, each written to that state's file as a slot of one state.
        /// The slot header keeps the key's expires-at over all its states: restoring ignores it, and a
        /// FASTER store computes its own when the key is written back.
        /// </summary>
        private sealed class EntriesByState(StateFileWriter[] files, string operatorId)
        {
            private readonly SlotWriter _header = new();

            public void Write(ReadOnlySpan<byte> buffer)
            {
                int position = 0;
                while (position < buffer.Length)
                {
                    int keyGroup = BinaryPrimitives.ReadInt32LittleEndian(buffer.Slice(position));
                    int keyLength = BinaryPrimitives.ReadInt32LittleEndian(buffer.Slice(position + sizeof(int)));
                    ReadOnlySpan<byte> key = buffer.Slice(position + (2 * sizeof(int)), keyLength);
                    position += (2 * sizeof(int)) + keyLength;
                    int slotLength = BinaryPrimitives.ReadInt32LittleEndian(buffer.Slice(position));
                    ReadOnlySpan<byte> slot = buffer.Slice(position + sizeof(int), slotLength);
                    position += sizeof(int) + slotLength;
                    if (slotLength > 0)
                    {
                        Split(keyGroup, key, slot);
                    }
                }
            }

            private void Split(int keyGroup, ReadOnlySpan<byte> key, ReadOnlySpan<byte> slot)
            {
                int count = slot.Length >= KeyedSlotFormat.HeaderSize && slot[0] == KeyedSlotFormat.CurrentVersion
                    ? BinaryPrimitives.ReadUInt16LittleEndian(slot.Slice(1 + sizeof(long)))
                    : -1;
                if (count != files.Length)
                {
                    throw new StateSnapshotException("(all states)",
                        $"Cannot write the savepoint of operator '{operatorId}': a key of key group {keyGroup} holds {count} states in slot format version {slot[0]}, not the {files.Length} the operator declares in version {KeyedSlotFormat.CurrentVersion}.");
                }

                long expiresAt = BinaryPrimitives.ReadInt64LittleEndian(slot.Slice(1));
                int position = KeyedSlotFormat.HeaderSize;
                for (int state = 0; state < files.Length; state++)
                {
                    int length = BinaryPrimitives.ReadInt32LittleEndian(slot.Slice(position));
                    ReadOnlySpan<byte> bytes = slot.Slice(position + sizeof(int), length);
                    position += sizeof(int) + length;
                    if (length == 0)
                    {
                        continue; // The key holds nothing in this state.
                    }

                    _header.Reset();
                    _header.WriteInt32(keyGroup);
                    _header.WriteInt32(key.Length);
                    _header.Write(key);
                    _header.WriteInt32(KeyedSlotFormat.HeaderSize + sizeof(int) + length);
                    _header.WriteByte(KeyedSlotFormat.CurrentVersion);
                    _header.WriteInt64(expiresAt);
                    _header.WriteUInt16(1);
                    _header.WriteInt32(length);
                    Stream stream = files[state].Stream;
                    stream.Write(_header.WrittenSpan);
                    stream.Write(bytes);
                }
            }
        }
    }

    /// <content>The key-typed half of keyed state checkpoints (see <see cref="KeyedStateStore"/>).</content>
    public sealed partial class KeyedStateTable<TKey>
    {
        private protected override bool HasSpillStore => _spill is not null;

        private protected override long FreezeSpillStore(bool full)
        {
            if (_spill is null || !full)
            {
                return -1;
            }

            _spill.Bytes.FreezeUpToTail();
            _spill.CompactionHolds++;
            return _spill.Bytes.TailAddress;
        }

        private protected override void ReleaseSpillStore() => _spill!.CompactionHolds--;

        private protected override void RestoreFile(Stream stream, string path) => KeyedStateSnapshot.Restore(this, stream, path);

        private protected override void RestoreStateFile(Stream stream, string path, string stateName) => KeyedStateSnapshot.RestoreState(this, stream, path, stateName);

        internal override void AppendSnapshotEntry(int slot, SlotWriter entries, SlotWriter scratch, SlotCapture capture)
        {
            bool live = IsLive(slot);
            if (capture.Full ? !live && !capture.KeepEmptyKeys : TouchedEpoch[slot] < capture.DirtySinceEpoch)
            {
                return;
            }

            entries.WriteInt32(_keyGroupOfSlot[slot]);
            entries.WriteFramed(_keySerializer, in _keyOfSlot[slot]);
            if (live && WriteSlot(slot, scratch))
            {
                entries.WriteInt32(scratch.Length);
                entries.Write(scratch.WrittenSpan);
            }
            else
            {
                // A delta's removal (or, in a FASTER base, a cached key without state).
                entries.WriteInt32(0);
            }
        }

        /// <summary>Gives <paramref name="key"/> the states in <paramref name="slotBytes"/>, replacing what it holds; no bytes remove its state (a delta's entry).</summary>
        internal void ReplaceKey(int keyGroup, in TKey key, ReadOnlySpan<byte> slotBytes)
        {
            Select(keyGroup, in key);
            int slot = CurrentSlot;
            if (IsLive(slot))
            {
                EmptySlot(slot);
            }

            if (slotBytes.Length > 0)
            {
                ReadSlot(slot, slotBytes);
            }
        }

        /// <summary>Logs the removal of a heap slot's key for the next delta.</summary>
        private void RecordRemoval(int slot)
        {
            if (RecordsChanges)
            {
                SlotWriter changes = Changes;
                changes.WriteInt32(_keyGroupOfSlot[slot]);
                changes.WriteFramed(_keySerializer, in _keyOfSlot[slot]);
                changes.WriteInt32(0);
            }
        }

        /// <summary>Logs a write (or, with no bytes, a deletion) of the spill store for the next delta.</summary>
        private void RecordStoreChange(int slot, ReadOnlySpan<byte> slotBytes)
        {
            if (RecordsChanges)
            {
                SlotWriter changes = Changes;
                changes.WriteInt32(_keyGroupOfSlot[slot]);
                changes.WriteFramed(_keySerializer, in _keyOfSlot[slot]);
                changes.WriteInt32(slotBytes.Length);
                changes.Write(slotBytes);
            }
        }

        internal override void WriteStoredEntries(long frozenTail, HashSet<UInt128> cachedAtBarrier, Action<ReadOnlySpan<byte>> emit)
        {
            FasterBytesStore store = _spill!.Bytes;
            ulong operatorHash = _operatorHash;
            KeyGroupRange range = KeyGroups;

            // Pass 1: the latest version of each of the operator's keys (and chunks) below the frozen tail.
            var latest = new Dictionary<UInt128, (long Address, bool Deleted)>();
            store.ScanVersionsBelow(frozenTail, (key, _, address, deleted) =>
            {
                if (Classify(key, operatorHash, range) != StoredKind.Other)
                {
                    latest[XxHash128.HashToUInt128(key)] = (address, deleted);
                }
            });

            // Pass 2: write those versions, except keys cached at the barrier; chunked states are assembled after.
            var chunkParts = new Dictionary<UInt128, byte[]>();
            var chunked = new List<(int KeyGroup, byte[] Key, int Total, int Chunks)>();
            var entry = new SlotWriter();
            store.ScanVersionsBelow(frozenTail, (key, value, address, deleted) =>
            {
                StoredKind kind = Classify(key, operatorHash, range);
                if (deleted || kind == StoredKind.Other || latest[XxHash128.HashToUInt128(key)].Address != address)
                {
                    return;
                }

                if (kind == StoredKind.Chunk)
                {
                    chunkParts[XxHash128.HashToUInt128(key)] = value.ToArray();
                    return;
                }

                int keyGroup = BinaryPrimitives.ReadUInt16BigEndian(key);
                ReadOnlySpan<byte> serializedKey = key.Slice(FasterSpillStore.KeyPrefixSize);
                if (cachedAtBarrier.Contains(KeyedStateTableSnapshot.CachedKeyHash(keyGroup, serializedKey)))
                {
                    return;
                }

                if (value.Length == FasterSpillStore.ChunkedHeadSize && value[0] == KeyedSlotFormat.ChunkedHead)
                {
                    int total = BinaryPrimitives.ReadInt32LittleEndian(value.Slice(1 + sizeof(long)));
                    int chunks = BinaryPrimitives.ReadInt32LittleEndian(value.Slice(1 + sizeof(long) + sizeof(int)));
                    chunked.Add((keyGroup, serializedKey.ToArray(), total, chunks));
                    return;
                }

                entry.Reset();
                entry.WriteInt32(keyGroup);
                entry.WriteInt32(serializedKey.Length);
                entry.Write(serializedKey);
                entry.WriteInt32(value.Length);
                entry.Write(value);
                emit(entry.WrittenSpan);
            });

            foreach ((int keyGroup, byte[] key, int total, int chunks) in chunked)
            {
                entry.Reset();
                entry.WriteInt32(keyGroup);
                entry.WriteInt32(key.Length);
                entry.Write(key);
                entry.WriteInt32(total);
                int dataStart = entry.Length;
                byte[] chunkKey = new byte[FasterSpillStore.KeyPrefixSize + key.Length + sizeof(int)];
                BinaryPrimitives.WriteUInt16BigEndian(chunkKey, (ushort)keyGroup);
                BinaryPrimitives.WriteUInt64BigEndian(chunkKey.AsSpan(sizeof(ushort)), ~operatorHash);
                key.CopyTo(chunkKey.AsSpan(FasterSpillStore.KeyPrefixSize));
                for (int index = 0; index < chunks; index++)
                {
                    BinaryPrimitives.WriteInt32LittleEndian(chunkKey.AsSpan(chunkKey.Length - sizeof(int)), index);
                    if (!chunkParts.TryGetValue(XxHash128.HashToUInt128(chunkKey), out byte[]? part) || part.Length < FasterSpillStore.ChunkHeaderSize)
                    {
                        throw new StateSnapshotException("(all states)",
                            $"Cannot snapshot the keyed state of operator '{OperatorId}': the FASTER store in '{_spill.Directory}' lacks chunk {index + 1} of {chunks} of a key of key group {keyGroup}.");
                    }

                    entry.Write(part.AsSpan(FasterSpillStore.ChunkHeaderSize));
                }

                if (entry.Length - dataStart != total)
                {
                    throw new StateSnapshotException("(all states)",
                        $"Cannot snapshot the keyed state of operator '{OperatorId}': the chunks of a key of key group {keyGroup} in the FASTER store in '{_spill.Directory}' hold {entry.Length - dataStart} bytes, not the {total} its head says.");
                }

                emit(entry.WrittenSpan);
            }
        }

        private enum StoredKind
        {
            Other,
            Key,
            Chunk,
        }

        /// <summary>Whether a store key is one of this operator's keys in its range, a chunk of one, or neither.</summary>
        private static StoredKind Classify(ReadOnlySpan<byte> key, ulong operatorHash, KeyGroupRange range)
        {
            if (key.Length < FasterSpillStore.KeyPrefixSize)
            {
                return StoredKind.Other;
            }

            int keyGroup = BinaryPrimitives.ReadUInt16BigEndian(key);
            if (!range.Contains(keyGroup))
            {
                return StoredKind.Other;
            }

            ulong owner = BinaryPrimitives.ReadUInt64BigEndian(key.Slice(sizeof(ushort)));
            return owner == operatorHash ? StoredKind.Key : owner == ~operatorHash ? StoredKind.Chunk : StoredKind.Other;
        }
    }
}
