using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;

namespace Weir.State
{
    /// <summary>
    /// The key → slot map of a <see cref="KeyedStateTable{TKey}"/>. For value-type keys it is an
    /// open-addressing table of entries that hold the key, its hash code and its slot together, so a
    /// lookup reads one entry (a <see cref="Dictionary{TKey, TValue}"/> reads a bucket, then an
    /// entry elsewhere). The table's size is a prime (keys with a common stride still spread, as in
    /// <see cref="Dictionary{TKey, TValue}"/>), it is at most half full, and collisions probe the next
    /// entries in Robin Hood order: an entry never sits farther from its home than the entry it
    /// passed, so a lookup of a missing key and a removal stop at the first entry that is at its home.
    /// Plain linear probing would make consecutive integer keys (which hash to themselves) one long
    /// run that every removal walks end to end; removals are frequent when the FASTER backend's key
    /// cache evicts. Removal shifts the entries after it back, so there are no tombstones. Keys of reference types (strings) use a <see cref="Dictionary{TKey, TValue}"/>,
    /// which hashes strings faster and falls back to randomized hashing under collision attacks.
    /// </summary>
    internal sealed class SlotMap<TKey>
        where TKey : notnull
    {
        private readonly Dictionary<TKey, int>? _dictionary;
        private Entry[] _entries = Array.Empty<Entry>();
        private ulong _fastModMultiplier;
        private int _count;
        private int _growAt;

        public SlotMap()
        {
            if (!typeof(TKey).IsValueType)
            {
                _dictionary = new Dictionary<TKey, int>();
            }
            else
            {
                Allocate(31);
            }
        }

        /// <summary>Number of keys.</summary>
        public int Count => typeof(TKey).IsValueType ? _count : _dictionary!.Count;

        /// <summary>The slot of <paramref name="key"/>, or -1 when it has none.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public int Find(in TKey key)
        {
            if (!typeof(TKey).IsValueType)
            {
                return _dictionary!.TryGetValue(key, out int found) ? found : -1;
            }

            int hashCode = EqualityComparer<TKey>.Default.GetHashCode(key);
            Entry[] entries = _entries;
            uint index = FastMod((uint)hashCode, (uint)entries.Length, _fastModMultiplier);
            ref Entry entry = ref entries[index];
            if (entry.SlotPlusOne == 0)
            {
                return -1;
            }

            if (entry.HashCode == hashCode && EqualityComparer<TKey>.Default.Equals(entry.Key, key))
            {
                return entry.SlotPlusOne - 1;
            }

            return FindAfterMiss(in key, hashCode, index);
        }

        /// <summary>The rest of a lookup whose home entry holds another key: probe on while entries are no nearer their home than the key would be.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private int FindAfterMiss(in TKey key, int hashCode, uint index)
        {
            Entry[] entries = _entries;
            uint length = (uint)entries.Length;
            for (uint distance = 1; ; distance++)
            {
                index = index + 1 == length ? 0 : index + 1;
                ref Entry entry = ref entries[index];
                if (entry.SlotPlusOne == 0 || Distance(entry.HashCode, index) < distance)
                {
                    return -1;
                }

                if (entry.HashCode == hashCode && EqualityComparer<TKey>.Default.Equals(entry.Key, key))
                {
                    return entry.SlotPlusOne - 1;
                }
            }
        }

        /// <summary>Adds a key that is not in the map.</summary>
        public void Add(TKey key, int slot)
        {
            if (!typeof(TKey).IsValueType)
            {
                _dictionary!.Add(key, slot);
                return;
            }

            if (Find(in key) >= 0)
            {
                throw new ArgumentException($"The key '{key}' is already in the map.", nameof(key));
            }

            if (_count >= _growAt)
            {
                Allocate(_entries.Length * 2);
            }

            Insert(EqualityComparer<TKey>.Default.GetHashCode(key), key, slot);
            _count++;
        }

        /// <summary>Removes a key; returns whether it was in the map.</summary>
        public bool Remove(TKey key)
        {
            if (!typeof(TKey).IsValueType)
            {
                return _dictionary!.Remove(key);
            }

            int hashCode = EqualityComparer<TKey>.Default.GetHashCode(key);
            Entry[] entries = _entries;
            uint length = (uint)entries.Length;
            uint index = FastMod((uint)hashCode, length, _fastModMultiplier);
            for (uint distance = 0; ; distance++)
            {
                ref Entry entry = ref entries[index];
                if (entry.SlotPlusOne == 0 || Distance(entry.HashCode, index) < distance)
                {
                    return false;
                }

                if (entry.HashCode == hashCode && EqualityComparer<TKey>.Default.Equals(entry.Key, key))
                {
                    break;
                }

                index = index + 1 == length ? 0 : index + 1;
            }

            // Backward-shift deletion: the entries after the hole move back one place until an empty
            // entry or one at its home, which in Robin Hood order ends the run that could move.
            uint hole = index;
            while (true)
            {
                uint next = hole + 1 == length ? 0 : hole + 1;
                ref Entry candidate = ref entries[next];
                if (candidate.SlotPlusOne == 0 || Distance(candidate.HashCode, next) == 0)
                {
                    break;
                }

                entries[hole] = candidate;
                hole = next;
            }

            entries[hole] = default;
            _count--;
            return true;
        }

        private void Insert(int hashCode, TKey key, int slot)
        {
            Entry[] entries = _entries;
            uint length = (uint)entries.Length;
            uint index = FastMod((uint)hashCode, length, _fastModMultiplier);
            var incoming = new Entry { HashCode = hashCode, SlotPlusOne = slot + 1, Key = key };
            for (uint distance = 0; ; distance++)
            {
                ref Entry entry = ref entries[index];
                if (entry.SlotPlusOne == 0)
                {
                    entry = incoming;
                    return;
                }

                // Robin Hood: the entry nearer its home gives its place to the one that has come farther.
                uint existing = Distance(entry.HashCode, index);
                if (existing < distance)
                {
                    (entry, incoming) = (incoming, entry);
                    distance = existing;
                }

                index = index + 1 == length ? 0 : index + 1;
            }
        }

        /// <summary>How far the entry at <paramref name="index"/> with <paramref name="hashCode"/> is from its home entry.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private uint Distance(int hashCode, uint index)
        {
            uint length = (uint)_entries.Length;
            uint home = FastMod((uint)hashCode, length, _fastModMultiplier);
            return index >= home ? index - home : index + length - home;
        }

        private void Allocate(int minimumSize)
        {
            Entry[] old = _entries;
            int size = NextPrime(minimumSize);
            _entries = new Entry[size];
            _fastModMultiplier = ulong.MaxValue / (uint)size + 1;
            _growAt = size / 2;
            foreach (Entry entry in old)
            {
                if (entry.SlotPlusOne != 0)
                {
                    Insert(entry.HashCode, entry.Key, entry.SlotPlusOne - 1);
                }
            }
        }

        /// <summary><paramref name="value"/> % <paramref name="divisor"/> by multiplication (Lemire's fastmod, as Dictionary does).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static uint FastMod(uint value, uint divisor, ulong multiplier)
            => (uint)(((((multiplier * value) >> 32) + 1) * divisor) >> 32);

        private static int NextPrime(int minimum)
        {
            for (int candidate = minimum | 1; candidate < int.MaxValue; candidate += 2)
            {
                if (IsPrime(candidate))
                {
                    return candidate;
                }
            }

            throw new InvalidOperationException("The key map cannot grow any further.");
        }

        private static bool IsPrime(int candidate)
        {
            for (int divisor = 3; (long)divisor * divisor <= candidate; divisor += 2)
            {
                if (candidate % divisor == 0)
                {
                    return false;
                }
            }

            return true;
        }

        private struct Entry
        {
            public int HashCode;

            /// <summary>The slot plus one: 0 marks an empty entry, so a new table needs no initialisation.</summary>
            public int SlotPlusOne;

            public TKey Key;
        }
    }
}
