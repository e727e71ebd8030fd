using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Weir.State;

namespace Weir
{
    /// <summary>
    /// Keyed state holding a map per key (Flink's MapState). Each key's map is a
    /// <see cref="Dictionary{TKey, TValue}"/> created on its first entry and kept for reuse when it is
    /// cleared; values of value types are stored unboxed. Under a time-to-live every entry expires on
    /// its own, as in Flink: its last write (or access) time is kept in a second dictionary, which
    /// maps without a time-to-live do not have, so their entries are no bigger than a plain
    /// dictionary's.
    /// </summary>
    public sealed class MapState<TKey, TValue> : StateColumn
        where TKey : notnull
    {
        private readonly IStateSerializer<TKey> _keySerializer;
        private readonly IStateSerializer<TValue> _valueSerializer;
        private readonly List<TKey> _expired = new();
        private Dictionary<TKey, TValue>?[] _maps;

        // Per slot, under a time-to-live: each entry's stamp, with exactly the keys of _maps[slot].
        private Dictionary<TKey, long>?[]? _stamps;

        internal MapState(KeyedStateStore store, StateDescriptor descriptor, int capacity, IStateSerializer<TKey> keySerializer, IStateSerializer<TValue> valueSerializer)
            : base(store, descriptor)
        {
            _keySerializer = keySerializer;
            _valueSerializer = valueSerializer;
            _maps = new Dictionary<TKey, TValue>?[capacity];
            _stamps = descriptor.Ttl is null ? null : new Dictionary<TKey, long>?[capacity];
        }

        /// <summary>Number of entries of the current key's map (expired ones excluded unless visibility allows them).</summary>
        public int Count
        {
            get
            {
                Dictionary<TKey, TValue>? map = _maps[Store.CurrentSlot];
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
            Dictionary<TKey, TValue>? map = _maps[slot];
            if (map is null)
            {
                value = default!;
                return false;
            }

            ref TValue stored = ref CollectionsMarshal.GetValueRefOrNullRef(map, key);
            if (Unsafe.IsNullRef(ref stored))
            {
                value = default!;
                return false;
            }

            value = stored;
            return _stamps is null || CheckTtlOnRead(slot, map, key, ref value);
        }

        /// <summary>The value of <paramref name="key"/> in the current key's map, or <c>default</c>.</summary>
        public TValue Get(TKey key) => TryGetValue(key, out TValue value) ? value : default!;

        /// <summary>Whether the current key's map contains <paramref name="key"/>.</summary>
        public bool ContainsKey(TKey key) => TryGetValue(key, out _);

        /// <summary>Sets <paramref name="key"/> to <paramref name="value"/> in the current key's map.</summary>
        public void Put(TKey key, TValue value)
        {
            int slot = Store.CurrentSlot;
            Dictionary<TKey, TValue> map = MapOf(slot);
            map[key] = value;
            if (_stamps is not null)
            {
                _stamps[slot]![key] = Store.Now;
            }
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
            Dictionary<TKey, TValue> map = MapOf(slot);
            ref TValue value = ref CollectionsMarshal.GetValueRefOrAddDefault(map, key, out exists)!;
            if (_stamps is not null)
            {
                ref long stamp = ref CollectionsMarshal.GetValueRefOrAddDefault(_stamps[slot]!, key, out _);
                if (exists && !Ttl!.ReturnExpired && Ttl.IsExpired(stamp, Store.Now))
                {
                    value = default!;
                    exists = false;
                }

                stamp = Store.Now;
            }

            return ref value;
        }

        /// <summary>Removes <paramref name="key"/> from the current key's map; returns whether it was there.</summary>
        public bool Remove(TKey key)
        {
            int slot = Store.CurrentSlot;
            Dictionary<TKey, TValue>? map = _maps[slot];
            return map is not null && RemoveEntry(slot, map, key);
        }

        /// <summary>Empties the current key's map.</summary>
        public void Clear()
        {
            int slot = Store.CurrentSlot;
            Dictionary<TKey, TValue>? map = _maps[slot];
            if (map is { Count: > 0 })
            {
                map.Clear();
                _stamps?[slot]!.Clear();
                Store.OnStateRemoved(slot);
            }
        }

        /// <summary>
        /// Enumerates the current key's entries (allocation-free). The map must not be modified while
        /// it is enumerated; collect keys first to remove several.
        /// </summary>
        public Dictionary<TKey, TValue>.Enumerator GetEnumerator()
        {
            int slot = Store.CurrentSlot;
            Dictionary<TKey, TValue> map = _maps[slot] ?? Empty;
            if (map.Count > 0 && Ttl is { } ttl)
            {
                if (!ttl.ReturnExpired)
                {
                    RemoveExpired(slot, Store.Now);
                }

                if (ttl.UpdateOnRead)
                {
                    Dictionary<TKey, long> stamps = _stamps![slot]!;
                    foreach (TKey key in map.Keys)
                    {
                        stamps[key] = Store.Now;
                    }
                }
            }

            return map.GetEnumerator();
        }

        // Enumerated for keys without a map: never written to.
        private static readonly Dictionary<TKey, TValue> Empty = new();

        internal override void Resize(int capacity)
        {
            Array.Resize(ref _maps, capacity);
            if (_stamps is not null)
            {
                Array.Resize(ref _stamps, capacity);
            }
        }

        internal override void ReleaseSlot(int slot)
        {
            // Empty already; the dictionaries are kept for the slot's next key.
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
            Dictionary<TKey, TValue>? map = _maps[slot];
            if (map is not { Count: > 0 })
            {
                return long.MinValue;
            }

            writer.WriteInt32(map.Count);
            long newest = long.MinValue;
            foreach (KeyValuePair<TKey, TValue> pair in map)
            {
                writer.WriteFramed(_keySerializer, pair.Key);
                TValue value = pair.Value;
                writer.WriteFramed(_valueSerializer, in value);
                if (_stamps is not null)
                {
                    long stamp = _stamps[slot]![pair.Key];
                    writer.WriteInt64(stamp);
                    newest = Math.Max(newest, stamp);
                }
            }

            return _stamps is null ? long.MaxValue : newest + Ttl!.Milliseconds;
        }

        internal override void ReadSlot(int slot, ref SlotReader reader)
        {
            int count = reader.ReadCount((2 * sizeof(int)) + (_stamps is null ? 0 : sizeof(long)));
            if (count > 0)
            {
                Dictionary<TKey, TValue> map = _maps[slot] ??= new Dictionary<TKey, TValue>(count);
                Dictionary<TKey, long>? stamps = _stamps is null ? null : _stamps[slot] ??= new Dictionary<TKey, long>(count);
                for (int i = 0; i < count; i++)
                {
                    TKey key = reader.ReadFramed(_keySerializer);
                    TValue value = reader.ReadFramed(_valueSerializer);
                    if (!map.TryAdd(key, value))
                    {
                        throw reader.Fail($"the map key {key} appears twice");
                    }

                    if (stamps is not null)
                    {
                        stamps[key] = reader.ReadInt64();
                    }
                }

                Store.OnStateAdded(slot);
            }

            reader.ReadEnd();
        }

        internal override void EvictSlot(int slot)
        {
            _maps[slot]?.Clear();
            _stamps?[slot]?.Clear();
        }

        /// <summary>The current slot's map (and stamps), created on first use; counts the slot live when the map was empty.</summary>
        private Dictionary<TKey, TValue> MapOf(int slot)
        {
            Dictionary<TKey, TValue> map = _maps[slot] ??= new Dictionary<TKey, TValue>();
            if (map.Count == 0)
            {
                Store.OnStateAdded(slot);
                if (_stamps is not null)
                {
                    _stamps[slot] ??= new Dictionary<TKey, long>();
                }
            }

            return map;
        }

        /// <summary>A read under a time-to-live: an expired entry is removed, and returned only if visibility allows.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private bool CheckTtlOnRead(int slot, Dictionary<TKey, TValue> map, TKey key, ref TValue value)
        {
            StateTtl ttl = Ttl!;
            ref long stamp = ref CollectionsMarshal.GetValueRefOrNullRef(_stamps![slot]!, key);
            if (ttl.IsExpired(stamp, Store.Now))
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
                stamp = Store.Now;
            }

            return true;
        }

        private bool RemoveEntry(int slot, Dictionary<TKey, TValue> map, TKey key)
        {
            if (!map.Remove(key))
            {
                return false;
            }

            _stamps?[slot]!.Remove(key);
            if (map.Count == 0)
            {
                Store.OnStateRemoved(slot);
            }

            return true;
        }

        private void RemoveExpired(int slot, long now)
        {
            Dictionary<TKey, TValue> map = _maps[slot]!;
            StateTtl ttl = Ttl!;
            foreach (KeyValuePair<TKey, long> pair in _stamps![slot]!)
            {
                if (ttl.IsExpired(pair.Value, now))
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
    }
}
