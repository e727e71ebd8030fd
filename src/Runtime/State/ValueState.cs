using System;
using System.Runtime.CompilerServices;
using Weir.State;

namespace Weir
{
    /// <summary>
    /// Keyed state holding one value per key (Flink's ValueState). Declare it as a field of a keyed
    /// function marked <see cref="StateAttribute"/>; inside <c>Process</c> it reads and writes the
    /// value of the current record's key. Value types are stored unboxed.
    /// </summary>
    public sealed class ValueState<T> : StateColumn
    {
        private Entry[] _entries;
        private long[]? _stamps;

        internal ValueState(KeyedStateStore store, StateDescriptor descriptor, int capacity)
            : base(store, descriptor)
        {
            _entries = new Entry[capacity];
            _stamps = descriptor.Ttl is null ? null : new long[capacity];
        }

        /// <summary>The current key's value, or <c>default</c> when it has none.</summary>
        public T Value
        {
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            get
            {
                int slot = Store.CurrentSlot;
                ref Entry entry = ref _entries[slot];
                if (!entry.HasValue)
                {
                    return default!;
                }

                return _stamps is null ? entry.Value : ReadWithTtl(slot, out _);
            }

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            set => Write(Store.CurrentSlot, value);
        }

        /// <summary>Whether the current key has a value.</summary>
        public bool HasValue
        {
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            get => TryGetValue(out _);
        }

        /// <summary>Reads the current key's value if it has one.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool TryGetValue(out T value)
        {
            int slot = Store.CurrentSlot;
            ref Entry entry = ref _entries[slot];
            if (!entry.HasValue)
            {
                value = default!;
                return false;
            }

            if (_stamps is null)
            {
                value = entry.Value;
                return true;
            }

            value = ReadWithTtl(slot, out bool found);
            return found;
        }

        /// <summary>Sets the current key's value (same as assigning <see cref="Value"/>).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Update(T value) => Write(Store.CurrentSlot, value);

        /// <summary>Removes the current key's value.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Clear() => Remove(Store.CurrentSlot);

        internal override void Resize(int capacity)
        {
            Array.Resize(ref _entries, capacity);
            if (_stamps is not null)
            {
                Array.Resize(ref _stamps, capacity);
            }
        }

        internal override void ReleaseSlot(int slot) => _entries[slot] = default;

        internal override void ExpireSlot(int slot, long now)
        {
            if (_entries[slot].HasValue && Ttl!.IsExpired(_stamps![slot], now))
            {
                Remove(slot);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Write(int slot, T value)
        {
            ref Entry entry = ref _entries[slot];
            if (!entry.HasValue)
            {
                entry.HasValue = true;
                Store.OnStateAdded(slot);
            }

            entry.Value = value;
            if (_stamps is not null)
            {
                _stamps[slot] = Store.Now;
            }
        }

        private void Remove(int slot)
        {
            ref Entry entry = ref _entries[slot];
            if (entry.HasValue)
            {
                entry = default;
                Store.OnStateRemoved(slot);
            }
        }

        /// <summary>A read under a time-to-live: an expired value is removed, and returned only if visibility allows.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private T ReadWithTtl(int slot, out bool found)
        {
            StateTtl ttl = Ttl!;
            T value = _entries[slot].Value;
            if (ttl.IsExpired(_stamps![slot], Store.Now))
            {
                Remove(slot);
                found = ttl.ReturnExpired;
                return found ? value : default!;
            }

            if (ttl.UpdateOnRead)
            {
                _stamps[slot] = Store.Now;
            }

            found = true;
            return value;
        }

        private struct Entry
        {
            public T Value;
            public bool HasValue;
        }
    }
}
