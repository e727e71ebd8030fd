using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Weir.Execution;
using Weir.State.Faster;

namespace Weir.State
{
    /// <summary>
    /// The heap store of one keyed operator's state on one subtask. Keys map to a slot; each declared
    /// state is a column indexed by slot. Generated code looks a record's key up once
    /// (<see cref="KeyedStateTable{TKey}.TrySelect"/>) and every state of the operator then reads its
    /// column at that slot, so a record costs one lookup however many states it touches.
    /// Each slot records its key group, so a snapshot can be cut by key-group range, and counts its
    /// non-empty states, so a key whose state is all cleared or expired gives its slot back.
    /// </summary>
    public abstract partial class KeyedStateStore
    {
        private readonly List<StateColumn> _columns = new();
        private readonly Dictionary<string, StateColumn> _byName = new(StringComparer.Ordinal);
        private readonly Stack<int> _emptied = new();
        private readonly TimeProvider _clock;
        private int _capacity = 64;
        private int[] _liveStates = new int[64];

        /// <summary>
        /// Per slot: the checkpoint epoch in which the processing thread last selected the slot (every
        /// change of a slot follows its selection). A slot selected in an epoch at or after
        /// <see cref="DirtySinceEpoch"/> may have changed since the last completed checkpoint; the first
        /// selection in a new epoch also protects the slot from a running snapshot (see <see cref="Touch"/>).
        /// </summary>
        private protected int[] TouchedEpoch = new int[64];

        /// <summary>The current checkpoint epoch: 1 at the start, one more after every snapshot's barrier.</summary>
        private protected int Epoch = 1;
        private int _cleanupPerRecord;
        private int _cleanupCursor;
        private int _evictCursor;

        /// <summary>
        /// Most slots the store keeps. Unbounded on the heap backend; with a spill store (FASTER) the slots
        /// are a cache of recently used keys, and a new key beyond the limit takes the slot of an older one,
        /// whose state is written to the spill store first.
        /// </summary>
        private protected int SlotLimit = int.MaxValue;

        /// <summary>The slot of the current key.</summary>
        internal int CurrentSlot;

        /// <summary>Number of slots handed out so far (live or emptied).</summary>
        internal int SlotCount;

        /// <summary>Current capacity of the per-slot arrays.</summary>
        internal int Capacity => _capacity;

        /// <summary>Processing time (Unix milliseconds) of the record being processed, for time-to-live.</summary>
        internal long Now;

        private protected KeyedStateStore(string operatorId, KeyGroupRange range, TimeProvider? clock)
        {
            OperatorId = operatorId;
            KeyGroups = range;
            _clock = clock ?? TimeProvider.System;
            Now = _clock.GetUtcNow().ToUnixTimeMilliseconds();
        }

        /// <summary>The operator that owns this state (for error messages).</summary>
        public string OperatorId { get; }

        /// <summary>The key groups this store holds.</summary>
        public KeyGroupRange KeyGroups { get; }

        /// <summary>Names of the declared states, in declaration order.</summary>
        public IEnumerable<string> StateNames
        {
            get
            {
                foreach (StateColumn column in _columns)
                {
                    yield return column.Name;
                }
            }
        }

        /// <summary>The declared states, in declaration order (the order of their bytes in <see cref="KeyedSlotFormat"/>).</summary>
        internal IReadOnlyList<StateColumn> Columns => _columns;

        /// <summary>Number of keys with at least one non-empty state.</summary>
        public abstract int KeyCount { get; }

        /// <summary>Number of slots with at least one non-empty state.</summary>
        private protected int CountLiveSlots()
        {
            int count = 0;
            for (int slot = 0; slot < SlotCount; slot++)
            {
                count += _liveStates[slot] > 0 ? 1 : 0;
            }

            return count;
        }

        /// <summary>
        /// Reads the processing time for the record about to be processed and runs a step of
        /// incremental time-to-live cleanup. Generated code calls it per record only for operators
        /// that declare a state with a time-to-live.
        /// </summary>
        [EditorBrowsable(EditorBrowsableState.Never)]
        public void AdvanceClock()
        {
            Now = _clock.GetUtcNow().ToUnixTimeMilliseconds();
            if (_cleanupPerRecord > 0 && SlotCount > 0)
            {
                CleanupStep();
            }
        }

        /// <summary>Declares (or gets) a value state.</summary>
        [EditorBrowsable(EditorBrowsableState.Never)]
        public ValueState<T> Value<T>(StateDescriptor descriptor, IStateSerializer<T> serializer)
            => Declare(descriptor, () => new ValueState<T>(this, descriptor, _capacity, serializer));

        /// <summary>Declares (or gets) a list state.</summary>
        [EditorBrowsable(EditorBrowsableState.Never)]
        public ListState<T> List<T>(StateDescriptor descriptor, IStateSerializer<T> serializer)
            => Declare(descriptor, () => new ListState<T>(this, descriptor, _capacity, serializer));

        /// <summary>Declares (or gets) a map state.</summary>
        [EditorBrowsable(EditorBrowsableState.Never)]
        public MapState<TKey, TValue> Map<TKey, TValue>(StateDescriptor descriptor, IStateSerializer<TKey> keySerializer, IStateSerializer<TValue> valueSerializer)
            where TKey : notnull
            => Declare(descriptor, () => new MapState<TKey, TValue>(this, descriptor, _capacity, keySerializer, valueSerializer));

        /// <summary>Declares (or gets) a reducing state.</summary>
        [EditorBrowsable(EditorBrowsableState.Never)]
        public ReducingState<T, TReduce> Reducing<T, TReduce>(StateDescriptor descriptor, TReduce reduce, IStateSerializer<T> serializer)
            where TReduce : struct, IReduceFunction<T>
            => Declare(descriptor, () => new ReducingState<T, TReduce>(this, descriptor, _capacity, reduce, serializer));

        /// <summary>Declares (or gets) an aggregating state.</summary>
        [EditorBrowsable(EditorBrowsableState.Never)]
        public AggregatingState<TIn, TAcc, TOut, TAggregate> Aggregating<TIn, TAcc, TOut, TAggregate>(StateDescriptor descriptor, TAggregate aggregate, IStateSerializer<TAcc> accumulatorSerializer)
            where TAggregate : struct, IAggregateFunction<TIn, TAcc, TOut>
            => Declare(descriptor, () => new AggregatingState<TIn, TAcc, TOut, TAggregate>(this, descriptor, _capacity, aggregate, accumulatorSerializer));

        /// <summary>Declares (or gets) the open windows of a non-merging window operator (checkpointed as a map of window end to contents).</summary>
        [EditorBrowsable(EditorBrowsableState.Never)]
        public Windowing.WindowContentsState<TAcc> WindowContents<TAcc>(StateDescriptor descriptor, IStateSerializer<TAcc> serializer)
            => Declare(descriptor, () => new Windowing.WindowContentsState<TAcc>(this, descriptor, _capacity, serializer));

        /// <summary>Gets a declared state by name, or null.</summary>
        public StateColumn? GetState(string name) => _byName.GetValueOrDefault(name);

        /// <summary>Counts a state of <paramref name="slot"/> that went from empty to holding a value.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal void OnStateAdded(int slot) => _liveStates[slot]++;

        /// <summary>Counts a state of <paramref name="slot"/> that became empty; a slot with none left may be reused.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal void OnStateRemoved(int slot)
        {
            if (--_liveStates[slot] == 0)
            {
                _emptied.Push(slot);
            }
        }

        /// <summary>Drops every state of a slot (restoring a delta that replaces or removes its key); the slot may then be reused.</summary>
        internal void EmptySlot(int slot)
        {
            foreach (StateColumn column in _columns)
            {
                column.EvictSlot(slot);
            }

            _liveStates[slot] = 0;
            _emptied.Push(slot);
        }

        /// <summary>Whether a slot holds any state.</summary>
        internal bool IsLive(int slot) => _liveStates[slot] > 0;

        /// <summary>Hands out a slot: one whose states all became empty, or a new one.</summary>
        private protected int AcquireSlot()
        {
            while (_emptied.Count > 0)
            {
                int slot = _emptied.Pop();

                // A slot can be pushed twice (emptied, refilled, emptied) or refilled since: only a
                // slot that is empty now is free.
                if (_liveStates[slot] == 0)
                {
                    bool changed = ChangedSinceCompleted(slot);
                    Touch(slot);
                    ForgetKey(slot, changed);
                    foreach (StateColumn column in _columns)
                    {
                        column.ReleaseSlot(slot);
                    }

                    return slot;
                }
            }

            if (SlotCount == SlotLimit)
            {
                return Evict();
            }

            int fresh = SlotCount++;
            if (fresh == _capacity)
            {
                Grow();
            }

            return fresh;
        }

        /// <summary>
        /// Removes the key of a slot that is being reused from the key map (after writing its state to the
        /// spill store, if there is one).
        /// </summary>
        /// <param name="slot">The slot, already protected from a running snapshot.</param>
        /// <param name="changedSinceCompleted">Whether the slot was selected since the last completed checkpoint's barrier (so its key's removal or new state must reach the next incremental checkpoint).</param>
        private protected abstract void ForgetKey(int slot, bool changedSinceCompleted);

        /// <summary>Frees every slot, writing each key's state to the spill store first (there must be one).</summary>
        private protected void EvictAll()
        {
            for (int slot = 0; slot < SlotCount; slot++)
            {
                Free(slot);
            }

            SlotCount = 0;
            _evictCursor = 0;
            _cleanupCursor = 0;
            _emptied.Clear();
        }

        /// <summary>
        /// Serializes every state of <paramref name="slot"/> into <paramref name="writer"/> (from its start) in
        /// <see cref="KeyedSlotFormat"/>.
        /// </summary>
        /// <returns>Whether any state of the slot holds something.</returns>
        internal bool WriteSlot(int slot, SlotWriter writer)
        {
            writer.Reset();
            writer.WriteByte(KeyedSlotFormat.CurrentVersion);
            int expiresAtPosition = writer.Length;
            writer.WriteInt64(0);
            writer.WriteUInt16((ushort)_columns.Count);
            long expiresAt = long.MinValue;
            foreach (StateColumn column in _columns)
            {
                int lengthPosition = writer.ReserveInt32();
                int start = writer.Length;
                expiresAt = Math.Max(expiresAt, column.WriteSlot(slot, writer));
                writer.PatchInt32(lengthPosition, writer.Length - start);
            }

            writer.PatchInt64(expiresAtPosition, expiresAt);
            return expiresAt != long.MinValue;
        }

        /// <summary>Loads bytes written by <see cref="WriteSlot"/> into an empty slot.</summary>
        /// <exception cref="StateSnapshotException">The bytes are not this operator's state.</exception>
        internal void ReadSlot(int slot, ReadOnlySpan<byte> bytes)
        {
            var header = new SlotReader(bytes, OperatorId, "(all states)");
            if (bytes.Length < KeyedSlotFormat.HeaderSize)
            {
                throw header.Fail($"a key's state has {bytes.Length} bytes, fewer than the {KeyedSlotFormat.HeaderSize} of its header");
            }

            if (bytes[0] != KeyedSlotFormat.CurrentVersion)
            {
                throw header.Fail($"a key's state has format version {bytes[0]}; this build of Weir reads version {KeyedSlotFormat.CurrentVersion}");
            }

            int count = System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(bytes.Slice(1 + sizeof(long)));
            if (count != _columns.Count)
            {
                throw header.Fail($"a key's state holds {count} states, but the operator declares {_columns.Count}");
            }

            int position = KeyedSlotFormat.HeaderSize;
            foreach (StateColumn column in _columns)
            {
                var reader = new SlotReader(bytes.Slice(position), OperatorId, column.Name);
                int length = reader.ReadInt32();
                if (length < 0 || length > bytes.Length - position - sizeof(int))
                {
                    throw reader.Fail($"its length {length} does not fit in the {bytes.Length - position - sizeof(int)} bytes that follow");
                }

                position += sizeof(int);
                if (length > 0)
                {
                    var content = new SlotReader(bytes.Slice(position, length), OperatorId, column.Name);
                    column.ReadSlot(slot, ref content);
                }

                position += length;
            }

            if (position != bytes.Length)
            {
                throw header.Fail($"{bytes.Length - position} unexpected bytes follow a key's last state");
            }
        }

        /// <summary>Takes the slot after the last one evicted (round robin), writing its state out and freeing it.</summary>
        private int Evict()
        {
            int victim = _evictCursor;
            _evictCursor = victim + 1 >= SlotCount ? 0 : victim + 1;
            Free(victim);
            return victim;
        }

        /// <summary>Writes a slot's key out (to the spill store) and empties the slot without live-state bookkeeping.</summary>
        private void Free(int slot)
        {
            bool changed = ChangedSinceCompleted(slot);
            Touch(slot);
            ForgetKey(slot, changed);
            foreach (StateColumn column in _columns)
            {
                column.EvictSlot(slot);
            }

            _liveStates[slot] = 0;
        }

        private protected virtual void OnGrow(int capacity)
        {
        }

        private TState Declare<TState>(StateDescriptor descriptor, Func<TState> create)
            where TState : StateColumn
        {
            if (_byName.TryGetValue(descriptor.Name, out StateColumn? existing))
            {
                return existing as TState ?? throw new InvalidOperationException(
                    $"Operator '{OperatorId}' declares state '{descriptor.Name}' twice with different types ({existing.Descriptor.TypeName} and {descriptor.TypeName}).");
            }

            TState state = create();
            _columns.Add(state);
            _byName.Add(descriptor.Name, state);
            if (descriptor.Ttl is { } ttl)
            {
                _cleanupPerRecord = Math.Max(_cleanupPerRecord, ttl.CleanupPerRecord);
            }

            return state;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private void Grow()
        {
            _capacity *= 2;
            Array.Resize(ref _liveStates, _capacity);
            Array.Resize(ref TouchedEpoch, _capacity);
            GrowClaims(_capacity);
            foreach (StateColumn column in _columns)
            {
                column.Resize(_capacity);
            }

            OnGrow(_capacity);
        }

        /// <summary>
        /// Flink's incremental cleanup: visits a few slots round-robin and drops their expired
        /// values, so state of keys that are never read again still goes away.
        /// </summary>
        private void CleanupStep()
        {
            for (int i = 0; i < _cleanupPerRecord; i++)
            {
                int slot = _cleanupCursor;
                _cleanupCursor = slot + 1 >= SlotCount ? 0 : slot + 1;
                if (_liveStates[slot] == 0)
                {
                    continue;
                }

                // Expiry changes the slot: protect it from a running snapshot and count it as changed
                // (conservatively, even if nothing has expired yet).
                if (TouchedEpoch[slot] != Epoch)
                {
                    Touch(slot);
                }

                foreach (StateColumn column in _columns)
                {
                    if (column.Ttl is not null)
                    {
                        column.ExpireSlot(slot, Now);
                    }
                }
            }
        }
    }

    /// <summary>
    /// The keyed state store of a key type. Keys map to slots through one hash map per subtask (one
    /// map keeps lookups cache-friendly: a map per key group scattered each record over 128 maps),
    /// and every slot remembers its key and key group, so state can still be cut by key-group range
    /// for checkpoints and rescaling.
    /// </summary>
    /// <remarks>
    /// On the heap backend the slots hold every key. On the FASTER backend they are a bounded cache
    /// of recently used keys in front of a <see cref="FasterSpillStore"/>: a key seen for the first
    /// time (or again after it left the cache) is read from the store, and the key whose slot it takes
    /// is written back (only if its bytes changed) or deleted (if its state became empty). The
    /// per-record path is the same on both backends: a known key costs one hash-map lookup.
    /// </remarks>
    public sealed partial class KeyedStateTable<TKey> : KeyedStateStore
        where TKey : notnull
    {
        private readonly SlotMap<TKey> _slots = new();
        private readonly IStateSerializer<TKey> _keySerializer;
        private readonly FasterSpillStore? _spill;
        private readonly ulong _operatorHash;
        private int[] _keyGroupOfSlot = new int[64];
        private TKey[] _keyOfSlot = new TKey[64];

        // Per slot, with a spill store: a hash of the key's state as last read from or written to the
        // store (0: the store has nothing for the key), so an unchanged key is not written back.
        private ulong[] _storedHash = Array.Empty<ulong>();

        // Per slot, with a spill store: how many chunk entries hold the key's state there (0: its own entry
        // does), so chunks a smaller state no longer needs are deleted.
        private int[] _storedChunks = Array.Empty<int>();

        /// <summary>Creates the heap store of one subtask.</summary>
        /// <param name="operatorId">The operator's explicit ID.</param>
        /// <param name="range">The key groups of the subtask.</param>
        /// <param name="keySerializer">Serializes keys (for snapshots and the FASTER backend).</param>
        /// <param name="clock">Processing time for time-to-live (null: the system clock).</param>
        public KeyedStateTable(string operatorId, KeyGroupRange range, IStateSerializer<TKey> keySerializer, TimeProvider? clock = null)
            : base(operatorId, range, clock)
            => _keySerializer = keySerializer;

        /// <summary>Creates a store of one subtask that keeps its state in <paramref name="spill"/> and caches recently used keys.</summary>
        internal KeyedStateTable(string operatorId, KeyGroupRange range, IStateSerializer<TKey> keySerializer, TimeProvider? clock, FasterSpillStore spill)
            : this(operatorId, range, keySerializer, clock)
        {
            _spill = spill;
            _operatorHash = OperatorIds.Hash(operatorId);
            _storedHash = new ulong[64];
            _storedChunks = new int[64];
            SlotLimit = spill.CachedKeys;
        }

        /// <summary>
        /// Makes <paramref name="key"/> (of key group <paramref name="keyGroup"/>) the current key of every
        /// state of this operator, creating its slot on first sight.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Select(int keyGroup, in TKey key)
        {
            if (!TrySelect(in key))
            {
                SelectNew(keyGroup, in key);
            }
        }

        /// <summary>
        /// Makes <paramref name="key"/> the current key if it has a slot. Generated code calls this first
        /// and computes the key's group only when it returns false: a known key needs no hashing.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool TrySelect(in TKey key)
        {
            int slot = _slots.Find(in key);
            if (slot < 0)
            {
                return false;
            }

            CurrentSlot = slot;

            // The one check checkpoints add per record: the first selection of a slot in an epoch
            // protects it from a running snapshot and marks it changed.
            if (TouchedEpoch[slot] != Epoch)
            {
                Touch(slot);
            }

            return true;
        }

        /// <summary>
        /// Creates the slot of a key seen for the first time (or, on the FASTER backend, not in the cache)
        /// and makes it the current key.
        /// </summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        public void SelectNew(int keyGroup, in TKey key)
        {
            if (!KeyGroups.Contains(keyGroup))
            {
                ThrowWrongKeyGroup(keyGroup);
            }

            int slot = AcquireSlot();
            _keyGroupOfSlot[slot] = keyGroup;
            _keyOfSlot[slot] = key;
            _slots.Add(key, slot);
            CurrentSlot = slot;
            Touch(slot);
            if (_spill is not null)
            {
                Load(slot);
            }
        }

        /// <summary>The current key (valid after a select).</summary>
        public TKey CurrentKey => _keyOfSlot[CurrentSlot];

        /// <summary>The key group of the current key (valid after a select).</summary>
        public int CurrentKeyGroup => _keyGroupOfSlot[CurrentSlot];

        /// <summary>Serializes a key (for snapshots).</summary>
        internal IStateSerializer<TKey> KeySerializer => _keySerializer;

        /// <summary>Gives <paramref name="key"/> the states in <paramref name="slotBytes"/> (<see cref="KeyedSlotFormat"/>); the key must hold no state yet.</summary>
        /// <exception cref="StateSnapshotException">The key already holds state, or the bytes are not this operator's.</exception>
        internal void RestoreKey(int keyGroup, in TKey key, ReadOnlySpan<byte> slotBytes)
        {
            Select(keyGroup, in key);
            if (IsLive(CurrentSlot))
            {
                throw new StateSnapshotException("(all states)",
                    $"Cannot restore key '{key}' of operator '{OperatorId}': it already holds state (the snapshot holds the key twice, or the operator's state was restored twice).");
            }

            ReadSlot(CurrentSlot, slotBytes);
        }

        /// <summary>
        /// Gives <paramref name="key"/> the one state in <paramref name="slotBytes"/> (a slot of one state,
        /// from a savepoint's per-state file), next to the states it may already hold from the other
        /// states' files; on FASTER the key's stored states are loaded first, so the two are merged.
        /// </summary>
        /// <exception cref="StateSnapshotException">The key already holds this state, or the bytes are not a slot of one state.</exception>
        internal void RestoreKeyState(int keyGroup, in TKey key, StateColumn column, ReadOnlySpan<byte> slotBytes, SlotWriter scratch)
        {
            Select(keyGroup, in key);
            int slot = CurrentSlot;
            var header = new SlotReader(slotBytes, OperatorId, column.Name);
            if (slotBytes.Length < KeyedSlotFormat.HeaderSize + sizeof(int) || slotBytes[0] != KeyedSlotFormat.CurrentVersion
                || System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(slotBytes.Slice(1 + sizeof(long))) != 1)
            {
                throw header.Fail($"a key's state is not one state in slot format version {KeyedSlotFormat.CurrentVersion}");
            }

            int length = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(slotBytes.Slice(KeyedSlotFormat.HeaderSize));
            if (length <= 0 || length != slotBytes.Length - KeyedSlotFormat.HeaderSize - sizeof(int))
            {
                throw header.Fail($"its length {length} does not match the {slotBytes.Length - KeyedSlotFormat.HeaderSize - sizeof(int)} bytes that follow");
            }

            // Each state's file holds a key once: a second copy would count the key's state twice.
            scratch.Reset();
            if (column.WriteSlot(slot, scratch) != long.MinValue)
            {
                throw new StateSnapshotException(column.Name,
                    $"Cannot restore key '{key}' of operator '{OperatorId}': it already holds state '{column.Name}' (the savepoint holds the key twice in that state, or the state was restored twice).");
            }

            var content = new SlotReader(slotBytes.Slice(KeyedSlotFormat.HeaderSize + sizeof(int)), OperatorId, column.Name);
            column.ReadSlot(slot, ref content);
        }

        /// <inheritdoc/>
        public override int KeyCount => _spill is null ? CountLiveSlots() : CountStoredKeys(KeyGroups.Start, KeyGroups.End);

        /// <summary>Number of keys with state in one key group.</summary>
        public int CountKeys(int keyGroup)
        {
            if (_spill is not null)
            {
                return CountStoredKeys(keyGroup, keyGroup);
            }

            int count = 0;
            for (int slot = 0; slot < SlotCount; slot++)
            {
                count += _keyGroupOfSlot[slot] == keyGroup && IsLive(slot) ? 1 : 0;
            }

            return count;
        }

        /// <summary>
        /// Calls <paramref name="visit"/> for every key with state whose key group is in
        /// <paramref name="range"/>, with that key selected (for snapshots and tests).
        /// </summary>
        /// <remarks>On the FASTER backend every cached key is written to the store first, then the store is scanned.</remarks>
        public void ForEachKey(KeyGroupRange range, Action<int, TKey> visit)
        {
            if (_spill is not null)
            {
                foreach ((int keyGroup, TKey key) in StoredKeys(range.Start, range.End))
                {
                    Select(keyGroup, in key);
                    visit(keyGroup, key);
                }

                return;
            }

            int current = CurrentSlot;
            for (int slot = 0; slot < SlotCount; slot++)
            {
                if (IsLive(slot) && range.Contains(_keyGroupOfSlot[slot]))
                {
                    CurrentSlot = slot;
                    visit(_keyGroupOfSlot[slot], _keyOfSlot[slot]);
                }
            }

            CurrentSlot = current;
        }

        private protected override void ForgetKey(int slot, bool changedSinceCompleted)
        {
            if (_spill is not null)
            {
                Spill(slot);
            }
            else if (changedSinceCompleted)
            {
                RecordRemoval(slot);
            }

            _slots.Remove(_keyOfSlot[slot]);
            _keyOfSlot[slot] = default!;
        }

        private protected override void OnGrow(int capacity)
        {
            Array.Resize(ref _keyGroupOfSlot, capacity);
            Array.Resize(ref _keyOfSlot, capacity);
            if (_spill is not null)
            {
                Array.Resize(ref _storedHash, capacity);
                Array.Resize(ref _storedChunks, capacity);
            }
        }

        /// <summary>Reads the state of the slot's key from the spill store into the (empty) slot.</summary>
        private void Load(int slot)
        {
            SlotWriter key = ComposeKey(slot);
            if (_spill!.TryRead(key.WrittenSpan, out ReadOnlySpan<byte> bytes, out int chunks))
            {
                ReadSlot(slot, bytes);
                _storedHash[slot] = HashOf(bytes);
                _storedChunks[slot] = chunks;
            }
        }

        /// <summary>Writes the state of the slot's key to the spill store if it changed, or deletes it there if it became empty.</summary>
        private void Spill(int slot)
        {
            SlotWriter value = _spill!.Value;
            bool live = WriteSlot(slot, value);
            ulong stored = _storedHash[slot];
            int storedChunks = _storedChunks[slot];
            _storedHash[slot] = 0;
            _storedChunks[slot] = 0;
            if (live)
            {
                if (HashOf(value.WrittenSpan) != stored)
                {
                    RecordStoreChange(slot, value.WrittenSpan);
                    _spill.Write(ComposeKey(slot).WrittenSpan, value.WrittenSpan, storedChunks, Now);
                }
            }
            else if (stored != 0)
            {
                RecordStoreChange(slot, ReadOnlySpan<byte>.Empty);
                _spill.Delete(ComposeKey(slot).WrittenSpan, storedChunks);
            }
        }

        private SlotWriter ComposeKey(int slot)
        {
            SlotWriter key = _spill!.BeginKey(_keyGroupOfSlot[slot], _operatorHash);
            _keySerializer.Serialize(in _keyOfSlot[slot], key);
            return key;
        }

        private static ulong HashOf(ReadOnlySpan<byte> bytes) => System.IO.Hashing.XxHash3.HashToUInt64(bytes) | 1;

        /// <summary>Writes every cached key to the spill store, then lists the stored keys of a key-group range.</summary>
        private List<(int KeyGroup, TKey Key)> StoredKeys(int firstKeyGroup, int lastKeyGroup)
        {
            EvictAll();
            var keys = new List<(int, TKey)>();
            _spill!.ScanKeys(firstKeyGroup, lastKeyGroup, _operatorHash, (keyGroup, bytes) =>
            {
                TKey key;
                try
                {
                    key = _keySerializer.Deserialize(bytes);
                }
                catch (Exception exception)
                {
                    throw new SlotReader(bytes, OperatorId, "(key)").Fail($"a stored key of key group {keyGroup} cannot be read as {TypeNames.Display(typeof(TKey))}: {exception.Message}", exception);
                }

                keys.Add((keyGroup, key));
            });
            return keys;
        }

        private int CountStoredKeys(int firstKeyGroup, int lastKeyGroup) => StoredKeys(firstKeyGroup, lastKeyGroup).Count;

        private void ThrowWrongKeyGroup(int keyGroup) => throw new InvalidOperationException(
            $"Operator '{OperatorId}' received a record of key group {keyGroup}, outside its range {KeyGroups}. " +
            "The key's stable hash differs between the exchange and the operator; this is a bug in Weir.");
    }

    /// <summary>One declared state of a keyed operator: a column of per-key contents indexed by slot.</summary>
    public abstract class StateColumn
    {
        private protected StateColumn(KeyedStateStore store, StateDescriptor descriptor)
        {
            Store = store;
            Descriptor = descriptor;
            Ttl = descriptor.Ttl;
        }

        /// <summary>The state's name, unique within its operator.</summary>
        public string Name => Descriptor.Name;

        /// <summary>What the generated code declared.</summary>
        public StateDescriptor Descriptor { get; }

        /// <summary>The state's time-to-live, or null.</summary>
        internal StateTtl? Ttl { get; }

        private protected KeyedStateStore Store { get; }

        internal abstract void Resize(int capacity);

        /// <summary>Resets an empty slot before it is given to another key (drops references kept for reuse).</summary>
        internal abstract void ReleaseSlot(int slot);

        /// <summary>Drops the expired contents of one slot (incremental cleanup).</summary>
        internal abstract void ExpireSlot(int slot, long now);

        /// <summary>
        /// Writes the slot's contents in this state's part of <see cref="KeyedSlotFormat"/> (nothing when it is empty).
        /// </summary>
        /// <returns>
        /// The Unix milliseconds after which all of it has expired: <see cref="long.MaxValue"/> without a
        /// time-to-live, <see cref="long.MinValue"/> when the slot is empty.
        /// </returns>
        internal abstract long WriteSlot(int slot, SlotWriter writer);

        /// <summary>Loads bytes written by <see cref="WriteSlot"/> into an empty slot, counting it as live.</summary>
        internal abstract void ReadSlot(int slot, ref SlotReader reader);

        /// <summary>Empties a slot whose contents were saved elsewhere (a spill), without live-state bookkeeping.</summary>
        internal abstract void EvictSlot(int slot);
    }
}
