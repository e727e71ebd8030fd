using System;
using System.Runtime.CompilerServices;
using Weir.State;

namespace Weir
{
    /// <summary>
    /// Keyed state holding a list per key (Flink's ListState). Elements of value types are stored
    /// unboxed in a per-key array that grows by doubling and is kept for reuse when the list is cleared.
    /// Under a time-to-live every element expires on its own, as in Flink.
    /// </summary>
    public sealed class ListState<T> : StateColumn
    {
        private readonly IStateSerializer<T> _serializer;
        private Entry[] _lists;

        internal ListState(KeyedStateStore store, StateDescriptor descriptor, int capacity, IStateSerializer<T> serializer)
            : base(store, descriptor)
        {
            _serializer = serializer;
            _lists = new Entry[capacity];
        }

        /// <summary>Number of elements of the current key's list.</summary>
        public int Count => Get().Length;

        /// <summary>Whether the current key's list is empty.</summary>
        public bool IsEmpty => Count == 0;

        /// <summary>
        /// The current key's elements, in insertion order. The span is valid until the next write to
        /// this state (it views the stored array).
        /// </summary>
        public ReadOnlySpan<T> Get()
        {
            int slot = Store.CurrentSlot;
            ref Entry list = ref _lists[slot];
            if (list.Count == 0)
            {
                return ReadOnlySpan<T>.Empty;
            }

            if (Ttl is { } ttl)
            {
                if (!ttl.ReturnExpired)
                {
                    RemoveExpired(slot, Store.Now);
                }

                if (ttl.UpdateOnRead)
                {
                    list.Stamps.AsSpan(0, list.Count).Fill(Store.Now);
                }
            }

            return new ReadOnlySpan<T>(list.Items, 0, list.Count);
        }

        /// <summary>Appends an element to the current key's list.</summary>
        public void Add(in T value)
        {
            int slot = Store.CurrentSlot;
            ref Entry list = ref _lists[slot];
            EnsureRoom(ref list, slot, 1);
            list.Items![list.Count] = value;
            if (list.Stamps is not null)
            {
                list.Stamps[list.Count] = Store.Now;
            }

            list.Count++;
        }

        /// <summary>Appends elements to the current key's list.</summary>
        public void AddAll(ReadOnlySpan<T> values)
        {
            if (values.IsEmpty)
            {
                return;
            }

            int slot = Store.CurrentSlot;
            ref Entry list = ref _lists[slot];
            EnsureRoom(ref list, slot, values.Length);
            values.CopyTo(list.Items.AsSpan(list.Count));
            if (list.Stamps is not null)
            {
                list.Stamps.AsSpan(list.Count, values.Length).Fill(Store.Now);
            }

            list.Count += values.Length;
        }

        /// <summary>Replaces the current key's list (an empty span clears it).</summary>
        public void Update(ReadOnlySpan<T> values)
        {
            Clear();
            AddAll(values);
        }

        /// <summary>Empties the current key's list.</summary>
        public void Clear() => Truncate(Store.CurrentSlot, 0);

        internal override void Resize(int capacity) => Array.Resize(ref _lists, capacity);

        internal override void ReleaseSlot(int slot)
        {
            // The list is empty here; keep its array for the slot's next key.
            ref Entry list = ref _lists[slot];
            if (RuntimeHelpers.IsReferenceOrContainsReferences<T>() && list.Items is not null)
            {
                Array.Clear(list.Items);
            }
        }

        internal override void ExpireSlot(int slot, long now) => RemoveExpired(slot, now);

        internal override long WriteSlot(int slot, SlotWriter writer)
        {
            ref Entry list = ref _lists[slot];
            if (list.Count == 0)
            {
                return long.MinValue;
            }

            writer.WriteInt32(list.Count);
            long newest = long.MinValue;
            for (int i = 0; i < list.Count; i++)
            {
                if (list.Stamps is not null)
                {
                    writer.WriteInt64(list.Stamps[i]);
                    newest = Math.Max(newest, list.Stamps[i]);
                }

                writer.WriteFramed(_serializer, in list.Items![i]);
            }

            return Ttl is null ? long.MaxValue : newest + Ttl.Milliseconds;
        }

        internal override void ReadSlot(int slot, ref SlotReader reader)
        {
            int count = reader.ReadCount(sizeof(int) + (Ttl is null ? 0 : sizeof(long)));
            ref Entry list = ref _lists[slot];
            if (count > 0)
            {
                EnsureRoom(ref list, slot, count);
            }

            for (int i = 0; i < count; i++)
            {
                if (list.Stamps is not null)
                {
                    list.Stamps[i] = reader.ReadInt64();
                }

                list.Items![i] = reader.ReadFramed(_serializer);
            }

            list.Count = count;
            reader.ReadEnd();
        }

        internal override void EvictSlot(int slot)
        {
            ref Entry list = ref _lists[slot];
            if (RuntimeHelpers.IsReferenceOrContainsReferences<T>() && list.Count > 0)
            {
                Array.Clear(list.Items!, 0, list.Count);
            }

            list.Count = 0;
        }

        private void EnsureRoom(ref Entry list, int slot, int extra)
        {
            if (list.Count == 0)
            {
                Store.OnStateAdded(slot);
            }

            int needed = list.Count + extra;
            if (list.Items is null || needed > list.Items.Length)
            {
                int size = Math.Max(needed, Math.Max(4, (list.Items?.Length ?? 0) * 2));
                Array.Resize(ref list.Items, size);
                if (Ttl is not null)
                {
                    Array.Resize(ref list.Stamps, size);
                }
            }
        }

        private void RemoveExpired(int slot, long now)
        {
            ref Entry list = ref _lists[slot];
            StateTtl ttl = Ttl!;
            int kept = 0;
            for (int i = 0; i < list.Count; i++)
            {
                if (!ttl.IsExpired(list.Stamps![i], now))
                {
                    list.Items![kept] = list.Items[i];
                    list.Stamps[kept] = list.Stamps[i];
                    kept++;
                }
            }

            Truncate(slot, kept);
        }

        private void Truncate(int slot, int count)
        {
            ref Entry list = ref _lists[slot];
            if (count >= list.Count)
            {
                return;
            }

            if (RuntimeHelpers.IsReferenceOrContainsReferences<T>())
            {
                Array.Clear(list.Items!, count, list.Count - count);
            }

            bool wasLive = list.Count > 0;
            list.Count = count;
            if (wasLive && count == 0)
            {
                Store.OnStateRemoved(slot);
            }
        }

        private struct Entry
        {
            public T[]? Items;
            public long[]? Stamps;
            public int Count;
        }
    }
}
