using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using Weir.State;

namespace Weir
{
    /// <summary>
    /// Keyed state holding a map per key (Flink's MapState). Each key's map is a
    /// <see cref="Dictionary{TKey, TValue}"/> created on its first entry and kept for reuse when it is
    /// cleared; values of value types are stored unboxed. Under a time-to-live every entry expires on
    /// its own, as in Flink.
    /// </summary>
    public sealed class MapState<TKey, TValue> : StateColumn
        where TKey : notnull
    {
        private readonly IStateSerializer<TKey> _keySerializer;
        private readonly IStateSerializer<TValue> _valueSerializer;
        private readonly List<TKey> _expired = new();
        private Dictionary<TKey, Entry>?[] _maps;

        internal MapState(KeyedStateStore store, StateDescriptor descriptor, int capacity, IStateSerializer<TKey> keySerializer, IStateSerializer<TValue> valueSerializer)
            : base(store, descriptor)
        {
            _keySerializer = keySerializer;
            _valueSerializer = valueSerializer;
            _maps = new Dictionary<TKey, Entry>?[capacity];
        }

        /// <summary>Number of entries of the current key's map (expired ones excluded unless visibility allows them).</summary>
        public int Count
        {
            get
            {
                Dictionary<TKey, Entry>? map = _maps[Store.CurrentSlot];
                if (map is null || map.Count == 0)
                {
                    return 0;
                }

                if (Ttl is { ReturnExpired: false })
                {
                    RemoveExpired(Store.CurrentSlot, Store.Now);
                }

                return map.Count;
            }
        }

        /// <summary>Whether the current key's map is empty.</summary>
        public bool IsEmpty => Count == 0;

        /// <summary>Reads the value of <paramref name="key"/> in the current key's map.</summary>
        public bool TryGetValue(TKey key, out TValue value)
        {
            int slot = Store.CurrentSlot;
            Dictionary<TKey, Entry>? map = _maps[slot];
            if (map is null)
            {
                value = default!;
                return false;
            }

            ref Entry entry = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrNullRef(map, key);
            if (Unsafe.IsNullRef(ref entry))
            {
                value = default!;
                return false;
            }

            value = entry.Value;
            if (Ttl is { } ttl)
            {
                if (ttl.IsExpired(entry.Stamp, Store.Now))
                {
                    RemoveEntry(slot, map, key);
                    if (!ttl.ReturnExpired)
                    {
                        value = default!;
                        return false;
                    }
                }
                else if (ttl.UpdateOnRead)
                {
                    entry.Stamp = Store.Now;
                }
            }

            return true;
        }

        /// <summary>The value of <paramref name="key"/> in the current key's map, or <c>default</c>.</summary>
        public TValue Get(TKey key) => TryGetValue(key, out TValue value) ? value : default!;

        /// <summary>Whether the current key's map contains <paramref name="key"/>.</summary>
        public bool ContainsKey(TKey key) => TryGetValue(key, out _);

        /// <summary>Sets <paramref name="key"/> to <paramref name="value"/> in the current key's map.</summary>
        public void Put(TKey key, TValue value)
        {
            int slot = Store.CurrentSlot;
            Dictionary<TKey, Entry> map = _maps[slot] ??= new Dictionary<TKey, Entry>();
            if (map.Count == 0)
            {
                Store.OnStateAdded(slot);
            }

            map[key] = new Entry { Value = value, Stamp = Store.Now };
        }

        /// <summary>
        /// A reference to the value of <paramref name="key"/> in the current key's map, added with
        /// <c>default</c> first when missing (an expired entry counts as missing unless visibility allows
        /// it): one lookup for a read-modify-write such as <c>GetValueRefOrAddDefault(page, out _)++</c>,
        /// where <see cref="Get"/> then <see cref="Put"/> take two. It counts as a write for the
        /// time-to-live. The reference is valid until the next change to this state.
        /// </summary>
        public ref TValue GetValueRefOrAddDefault(TKey key, out bool exists)
        {
            int slot = Store.CurrentSlot;
            Dictionary<TKey, Entry> map = _maps[slot] ??= new Dictionary<TKey, Entry>();
            if (map.Count == 0)
            {
                Store.OnStateAdded(slot);
            }

            ref Entry entry = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(map, key, out exists);
            if (exists && Ttl is { ReturnExpired: false } ttl && ttl.IsExpired(entry.Stamp, Store.Now))
            {
                entry.Value = default!;
                exists = false;
            }

            entry.Stamp = Store.Now;
            return ref entry.Value;
        }

        /// <summary>Removes <paramref name="key"/> from the current key's map; returns whether it was there.</summary>
        public bool Remove(TKey key)
        {
            int slot = Store.CurrentSlot;
            Dictionary<TKey, Entry>? map = _maps[slot];
            return map is not null && RemoveEntry(slot, map, key);
        }

        /// <summary>Empties the current key's map.</summary>
        public void Clear()
        {
            int slot = Store.CurrentSlot;
            Dictionary<TKey, Entry>? map = _maps[slot];
            if (map is { Count: > 0 })
            {
                map.Clear();
                Store.OnStateRemoved(slot);
            }
        }

        /// <summary>
        /// Enumerates the current key's entries (allocation-free). The map must not be modified while
        /// it is enumerated; collect keys first to remove several.
        /// </summary>
        public Enumerator GetEnumerator()
        {
            int slot = Store.CurrentSlot;
            Dictionary<TKey, Entry>? map = _maps[slot];
            if (map is { Count: > 0 } && Ttl is { } ttl)
            {
                if (!ttl.ReturnExpired)
                {
                    RemoveExpired(slot, Store.Now);
                }

                if (ttl.UpdateOnRead)
                {
                    foreach (TKey key in map.Keys)
                    {
                        System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrNullRef(map, key).Stamp = Store.Now;
                    }
                }
            }

            return new Enumerator(map);
        }

        internal override void Resize(int capacity) => Array.Resize(ref _maps, capacity);

        internal override void ReleaseSlot(int slot)
        {
            // Empty already; the dictionary is kept for the slot's next key.
        }

        internal override void ExpireSlot(int slot, long now)
        {
            if (_maps[slot] is { Count: > 0 })
            {
                RemoveExpired(slot, now);
            }
        }

        internal override long WriteSlot(int slot, SlotWriter writer)
        {
            Dictionary<TKey, Entry>? map = _maps[slot];
            if (map is not { Count: > 0 })
            {
                return long.MinValue;
            }

            writer.WriteInt32(map.Count);
            long newest = long.MinValue;
            foreach (KeyValuePair<TKey, Entry> pair in map)
            {
                writer.WriteFramed(_keySerializer, pair.Key);
                TValue value = pair.Value.Value;
                writer.WriteFramed(_valueSerializer, in value);
                if (Ttl is not null)
                {
                    writer.WriteInt64(pair.Value.Stamp);
                    newest = Math.Max(newest, pair.Value.Stamp);
                }
            }

            return Ttl is null ? long.MaxValue : newest + Ttl.Milliseconds;
        }

        internal override void ReadSlot(int slot, ref SlotReader reader)
        {
            int count = reader.ReadCount((2 * sizeof(int)) + (Ttl is null ? 0 : sizeof(long)));
            if (count > 0)
            {
                Dictionary<TKey, Entry> map = _maps[slot] ??= new Dictionary<TKey, Entry>(count);
                for (int i = 0; i < count; i++)
                {
                    TKey key = reader.ReadFramed(_keySerializer);
                    TValue value = reader.ReadFramed(_valueSerializer);
                    long stamp = Ttl is null ? 0 : reader.ReadInt64();
                    if (!map.TryAdd(key, new Entry { Value = value, Stamp = stamp }))
                    {
                        throw reader.Fail($"the map key {key} appears twice");
                    }
                }

                Store.OnStateAdded(slot);
            }

            reader.ReadEnd();
        }

        internal override void EvictSlot(int slot) => _maps[slot]?.Clear();

        private bool RemoveEntry(int slot, Dictionary<TKey, Entry> map, TKey key)
        {
            if (!map.Remove(key))
            {
                return false;
            }

            if (map.Count == 0)
            {
                Store.OnStateRemoved(slot);
            }

            return true;
        }

        private void RemoveExpired(int slot, long now)
        {
            Dictionary<TKey, Entry> map = _maps[slot]!;
            StateTtl ttl = Ttl!;
            foreach (KeyValuePair<TKey, Entry> pair in map)
            {
                if (ttl.IsExpired(pair.Value.Stamp, now))
                {
                    _expired.Add(pair.Key);
                }
            }

            foreach (TKey key in _expired)
            {
                RemoveEntry(slot, map, key);
            }

            _expired.Clear();
        }

        /// <summary>A stored value and the time it was last written (or read, under <see cref="StateTtlUpdate.OnReadAndWrite"/>).</summary>
        internal struct Entry
        {
            public TValue Value;
            public long Stamp;
        }

        /// <summary>Enumerates a key's map entries without allocating.</summary>
        public struct Enumerator
        {
            private Dictionary<TKey, Entry>.Enumerator _inner;
            private readonly bool _empty;

            internal Enumerator(Dictionary<TKey, Entry>? map)
            {
                _empty = map is null;
                _inner = map is null ? default : map.GetEnumerator();
            }

            /// <summary>The current entry.</summary>
            public readonly KeyValuePair<TKey, TValue> Current
            {
                get
                {
                    KeyValuePair<TKey, Entry> pair = _inner.Current;
                    return new KeyValuePair<TKey, TValue>(pair.Key, pair.Value.Value);
                }
            }

            /// <summary>Moves to the next entry.</summary>
            public bool MoveNext() => !_empty && _inner.MoveNext();
        }
    }
}
