using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Weir.Execution;

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
    public abstract class KeyedStateStore
    {
        private readonly List<StateColumn> _columns = new();
        private readonly Dictionary<string, StateColumn> _byName = new(StringComparer.Ordinal);
        private readonly Stack<int> _emptied = new();
        private readonly TimeProvider _clock;
        private int _capacity = 64;
        private int[] _liveStates = new int[64];
        private int _cleanupPerRecord;
        private int _cleanupCursor;

        /// <summary>The slot of the current key.</summary>
        internal int CurrentSlot;

        /// <summary>Number of slots handed out so far (live or emptied).</summary>
        internal int SlotCount;

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

        /// <summary>Number of keys with at least one non-empty state.</summary>
        public int KeyCount
        {
            get
            {
                int count = 0;
                for (int slot = 0; slot < SlotCount; slot++)
                {
                    count += _liveStates[slot] > 0 ? 1 : 0;
                }

                return count;
            }
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
        public ValueState<T> Value<T>(StateDescriptor descriptor)
            => Declare(descriptor, () => new ValueState<T>(this, descriptor, _capacity));

        /// <summary>Declares (or gets) a list state.</summary>
        [EditorBrowsable(EditorBrowsableState.Never)]
        public ListState<T> List<T>(StateDescriptor descriptor)
            => Declare(descriptor, () => new ListState<T>(this, descriptor, _capacity));

        /// <summary>Declares (or gets) a map state.</summary>
        [EditorBrowsable(EditorBrowsableState.Never)]
        public MapState<TKey, TValue> Map<TKey, TValue>(StateDescriptor descriptor)
            where TKey : notnull
            => Declare(descriptor, () => new MapState<TKey, TValue>(this, descriptor, _capacity));

        /// <summary>Declares (or gets) a reducing state.</summary>
        [EditorBrowsable(EditorBrowsableState.Never)]
        public ReducingState<T, TReduce> Reducing<T, TReduce>(StateDescriptor descriptor, TReduce reduce)
            where TReduce : struct, IReduceFunction<T>
            => Declare(descriptor, () => new ReducingState<T, TReduce>(this, descriptor, _capacity, reduce));

        /// <summary>Declares (or gets) an aggregating state.</summary>
        [EditorBrowsable(EditorBrowsableState.Never)]
        public AggregatingState<TIn, TAcc, TOut, TAggregate> Aggregating<TIn, TAcc, TOut, TAggregate>(StateDescriptor descriptor, TAggregate aggregate)
            where TAggregate : struct, IAggregateFunction<TIn, TAcc, TOut>
            => Declare(descriptor, () => new AggregatingState<TIn, TAcc, TOut, TAggregate>(this, descriptor, _capacity, aggregate));

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
                    ForgetKey(slot);
                    foreach (StateColumn column in _columns)
                    {
                        column.ReleaseSlot(slot);
                    }

                    return slot;
                }
            }

            int fresh = SlotCount++;
            if (fresh == _capacity)
            {
                Grow();
            }

            return fresh;
        }

        /// <summary>Removes the key of a slot that is being reused from the key map.</summary>
        private protected abstract void ForgetKey(int slot);

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
    public sealed class KeyedStateTable<TKey> : KeyedStateStore
        where TKey : notnull
    {
        private readonly SlotMap<TKey> _slots = new();
        private int[] _keyGroupOfSlot = new int[64];
        private TKey[] _keyOfSlot = new TKey[64];

        /// <summary>Creates the store of one subtask.</summary>
        public KeyedStateTable(string operatorId, KeyGroupRange range, TimeProvider? clock = null)
            : base(operatorId, range, clock)
        {
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
            return true;
        }

        /// <summary>Creates the slot of a key seen for the first time and makes it the current key.</summary>
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
        }

        /// <summary>The current key (valid after a select).</summary>
        public TKey CurrentKey => _keyOfSlot[CurrentSlot];

        /// <summary>Number of keys with state in one key group.</summary>
        public int CountKeys(int keyGroup)
        {
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
        public void ForEachKey(KeyGroupRange range, Action<int, TKey> visit)
        {
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

        private protected override void ForgetKey(int slot)
        {
            _slots.Remove(_keyOfSlot[slot]);
            _keyOfSlot[slot] = default!;
        }

        private protected override void OnGrow(int capacity)
        {
            Array.Resize(ref _keyGroupOfSlot, capacity);
            Array.Resize(ref _keyOfSlot, capacity);
        }

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
    }
}
