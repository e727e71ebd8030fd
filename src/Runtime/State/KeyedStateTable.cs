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
    /// state is a column indexed by slot. Generated code looks a record's key up
    /// once (<see cref="KeyedStateTable{TKey}.Select"/>) and every state of the operator then reads its column at that slot,
    /// so a record costs one lookup however many states it touches.
    /// Each key's slot records its key group, so a snapshot can be cut by key-group range.
    /// </summary>
    public abstract class KeyedStateStore
    {
        private readonly List<StateColumn> _columns = new();
        private readonly Dictionary<string, StateColumn> _byName = new(StringComparer.Ordinal);
        private int _capacity = 64;

        /// <summary>The slot of the current key (set by <see cref="KeyedStateTable{TKey}.Select"/>).</summary>
        internal int CurrentSlot;

        /// <summary>Number of slots handed out so far.</summary>
        internal int SlotCount;

        /// <summary>The operator that owns this state (for error messages).</summary>
        public string OperatorId { get; }

        private protected KeyedStateStore(string operatorId) => OperatorId = operatorId;

        /// <summary>Gets or declares a value state of this operator.</summary>
        [EditorBrowsable(EditorBrowsableState.Never)]
        public ValueState<T> Value<T>(string name)
        {
            if (_byName.TryGetValue(name, out StateColumn? existing))
            {
                return existing as ValueState<T> ?? throw new InvalidOperationException(
                    $"Operator '{OperatorId}' declares state '{name}' twice with different types ({existing.GetType()} and {typeof(ValueState<T>)}).");
            }

            var state = new ValueState<T>(this, name, _capacity);
            _columns.Add(state);
            _byName.Add(name, state);
            return state;
        }

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

        private protected int AllocateSlot()
        {
            int slot = SlotCount++;
            if (slot == _capacity)
            {
                Grow();
            }

            return slot;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private void Grow()
        {
            _capacity *= 2;
            foreach (StateColumn column in _columns)
            {
                column.Resize(_capacity);
            }
        }
    }

    /// <summary>
    /// The keyed state store of a key type. Keys map to slots through one hash map per subtask (one map
    /// keeps lookups cache-friendly: a map per key group scattered each record over 128 maps), and
    /// every slot remembers its key group, so state can still be cut by key-group range for
    /// checkpoints and rescaling.
    /// </summary>
    public sealed class KeyedStateTable<TKey> : KeyedStateStore
        where TKey : notnull
    {
        private readonly Dictionary<TKey, int> _slots = new();
        private readonly KeyGroupRange _range;
        private int[] _keyGroupOfSlot = new int[64];

        /// <summary>Creates the store of one subtask.</summary>
        public KeyedStateTable(string operatorId, KeyGroupRange range)
            : base(operatorId)
            => _range = range;

        /// <summary>The key groups this store holds.</summary>
        public KeyGroupRange KeyGroups => _range;

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
            ref int slot = ref CollectionsMarshal.GetValueRefOrNullRef(_slots, key);
            if (Unsafe.IsNullRef(ref slot))
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
            int slot = AddSlot(keyGroup);
            _slots.Add(key, slot);
            CurrentSlot = slot;
        }

        /// <summary>Number of keys stored in one key group.</summary>
        public int CountKeys(int keyGroup)
        {
            int count = 0;
            for (int slot = 0; slot < SlotCount; slot++)
            {
                count += _keyGroupOfSlot[slot] == keyGroup ? 1 : 0;
            }

            return count;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private int AddSlot(int keyGroup)
        {
            if (!_range.Contains(keyGroup))
            {
                ThrowWrongKeyGroup(keyGroup);
            }

            int slot = AllocateSlot();
            if (slot == _keyGroupOfSlot.Length)
            {
                Array.Resize(ref _keyGroupOfSlot, _keyGroupOfSlot.Length * 2);
            }

            _keyGroupOfSlot[slot] = keyGroup;
            return slot;
        }

        private void ThrowWrongKeyGroup(int keyGroup) => throw new InvalidOperationException(
            $"Operator '{OperatorId}' received a record of key group {keyGroup}, outside its range {_range}. " +
            "The key's stable hash differs between the exchange and the operator; this is a bug in Weir.");
    }

    /// <summary>One declared state of a keyed operator: a column of per-key values.</summary>
    public abstract class StateColumn
    {
        private protected StateColumn(KeyedStateStore store, string name)
        {
            Store = store;
            Name = name;
        }

        /// <summary>The state's name, unique within its operator.</summary>
        public string Name { get; }

        private protected KeyedStateStore Store { get; }

        internal abstract void Resize(int capacity);
    }
}
