using System;
using System.Runtime.CompilerServices;

namespace Weir
{
    /// <summary>
    /// Keyed state holding one value per key (Flink's ValueState). Declare it as a field of a keyed
    /// function marked <see cref="StateAttribute"/>; inside <c>Process</c> it reads and writes the
    /// value of the current record's key.
    /// </summary>
    public sealed class ValueState<T> : State.StateColumn
    {
        private Entry[] _entries;

        internal ValueState(State.KeyedStateStore store, string name, int capacity)
            : base(store, name)
            => _entries = new Entry[capacity];

        /// <summary>The current key's value, or <c>default</c> when it has none.</summary>
        public T Value
        {
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            get
            {
                ref Entry entry = ref _entries[Store.CurrentSlot];
                return entry.HasValue ? entry.Value : default!;
            }

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            set
            {
                ref Entry entry = ref _entries[Store.CurrentSlot];
                entry.Value = value;
                entry.HasValue = true;
            }
        }

        /// <summary>Whether the current key has a value.</summary>
        public bool HasValue
        {
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            get => _entries[Store.CurrentSlot].HasValue;
        }

        /// <summary>Reads the current key's value if it has one.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool TryGetValue(out T value)
        {
            ref Entry entry = ref _entries[Store.CurrentSlot];
            value = entry.HasValue ? entry.Value : default!;
            return entry.HasValue;
        }

        /// <summary>Removes the current key's value.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Clear()
        {
            ref Entry entry = ref _entries[Store.CurrentSlot];
            entry.Value = default!;
            entry.HasValue = false;
        }

        internal override void Resize(int capacity) => Array.Resize(ref _entries, capacity);

        private struct Entry
        {
            public T Value;
            public bool HasValue;
        }
    }
}
