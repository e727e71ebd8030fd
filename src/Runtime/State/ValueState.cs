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
        // Values and presence are kept apart: a slot's value is as wide as T (no flag padding it to
        // the next 8 bytes), so a key's state is one dense column the hot path streams through, and
        // presence is one bit per slot, a bitmap small enough to stay in cache. A slot without a
        // value always holds default(T), so reading a value needs no presence check.
        private T[] _values;
        private ulong[] _present;
        private long[]? _stamps;

        internal ValueState(KeyedStateStore store, StateDescriptor descriptor, int capacity)
            : base(store, descriptor)
        {
            _values = new T[capacity];
            _present = new ulong[PresenceWords(capacity)];
            _stamps = descriptor.Ttl is null ? null : new long[capacity];
        }

        /// <summary>The current key's value, or <c>default</c> when it has none.</summary>
        public T Value
        {
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            get
            {
                int slot = Store.CurrentSlot;
                if (_stamps is not null)
                {
                    return ReadWithTtl(slot, out _);
                }

                // Absent values are default(T).
                return _values[slot];
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
            if (_stamps is not null)
            {
                value = ReadWithTtl(slot, out bool found);
                return found;
            }

            value = _values[slot];
            return IsPresent(slot);
        }

        /// <summary>Sets the current key's value (same as assigning <see cref="Value"/>).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Update(T value) => Write(Store.CurrentSlot, value);

        /// <summary>Removes the current key's value.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Clear() => Remove(Store.CurrentSlot);

        internal override void Resize(int capacity)
        {
            Array.Resize(ref _values, capacity);
            Array.Resize(ref _present, PresenceWords(capacity));
            if (_stamps is not null)
            {
                Array.Resize(ref _stamps, capacity);
            }
        }

        internal override void ReleaseSlot(int slot)
        {
            _values[slot] = default!;
            _present[slot >> 6] &= ~(1UL << slot);
        }

        internal override void ExpireSlot(int slot, long now)
        {
            if (IsPresent(slot) && Ttl!.IsExpired(_stamps![slot], now))
            {
                Remove(slot);
            }
        }

        /// <summary>Whether <paramref name="slot"/> holds a value (expired or not).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private bool IsPresent(int slot) => (_present[slot >> 6] & (1UL << slot)) != 0;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Write(int slot, T value)
        {
            // Shifts by an int use its low 6 bits: 1UL << slot is the slot's bit in its word.
            ref ulong word = ref _present[slot >> 6];
            ulong bit = 1UL << slot;
            if ((word & bit) == 0)
            {
                word |= bit;
                Store.OnStateAdded(slot);
            }

            _values[slot] = value;
            if (_stamps is not null)
            {
                _stamps[slot] = Store.Now;
            }
        }

        private void Remove(int slot)
        {
            ref ulong word = ref _present[slot >> 6];
            ulong bit = 1UL << slot;
            if ((word & bit) != 0)
            {
                word &= ~bit;
                _values[slot] = default!;
                Store.OnStateRemoved(slot);
            }
        }

        /// <summary>A read under a time-to-live: an expired value is removed, and returned only if visibility allows.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private T ReadWithTtl(int slot, out bool found)
        {
            if (!IsPresent(slot))
            {
                found = false;
                return default!;
            }

            StateTtl ttl = Ttl!;
            T value = _values[slot];
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

        private static int PresenceWords(int capacity) => (capacity + 63) >> 6;
    }
}
