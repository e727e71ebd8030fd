using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Weir.State;

namespace Weir.Windowing
{
    /// <summary>
    /// The open windows of each key of a non-merging window operator: window end → contents, like a
    /// <see cref="MapState{TKey, TValue}"/> of <c>long</c> keys, but the first two windows of a key are
    /// held inline in an array indexed by slot (a key of a tumbling window has one or two open windows
    /// at a time: the current one and the next, until the current fires). A record then touches one
    /// array element instead of a dictionary per key (its object, buckets and entries, each a cache
    /// miss once keys are many); windows beyond two (sliding windows) go to a per-slot dictionary.
    /// Checkpoints hold exactly what a map state of <c>long</c> to the contents would, so inspection and
    /// the state schema treat it as one.
    /// </summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public sealed class WindowContentsState<TAcc> : StateColumn
    {
        private readonly IStateSerializer<TAcc> _serializer;
        private Cells[] _cells;
        private Dictionary<long, TAcc>?[] _overflow;

        internal WindowContentsState(KeyedStateStore store, StateDescriptor descriptor, int capacity, IStateSerializer<TAcc> serializer)
            : base(store, descriptor)
        {
            _serializer = serializer;
            _cells = new Cells[capacity];
            _overflow = new Dictionary<long, TAcc>?[capacity];
        }

        /// <summary>Number of open windows of the current key.</summary>
        public int Count => CountOf(Store.CurrentSlot);

        /// <summary>
        /// The contents of the current key's window ending at <paramref name="end"/>, added with
        /// <c>default</c> when missing (<paramref name="exists"/> false). Valid until the next change.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public ref TAcc GetValueRefOrAddDefault(long end, out bool exists)
        {
            int slot = Store.CurrentSlot;
            ref Cells cells = ref _cells[slot];
            if (cells.Has0 && cells.End0 == end)
            {
                exists = true;
                return ref cells.Contents0;
            }

            if (cells.Has1 && cells.End1 == end)
            {
                exists = true;
                return ref cells.Contents1;
            }

            return ref AddOrFindOverflow(slot, ref cells, end, out exists);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private ref TAcc AddOrFindOverflow(int slot, ref Cells cells, long end, out bool exists)
        {
            Dictionary<long, TAcc>? overflow = _overflow[slot];
            if (overflow is { Count: > 0 } && overflow.ContainsKey(end))
            {
                exists = true;
                return ref CollectionsMarshal.GetValueRefOrAddDefault(overflow, end, out _)!;
            }

            exists = false;
            if (CountOf(slot) == 0)
            {
                Store.OnStateAdded(slot);
            }

            if (!cells.Has0)
            {
                cells.Has0 = true;
                cells.End0 = end;
                cells.Contents0 = default!;
                return ref cells.Contents0;
            }

            if (!cells.Has1)
            {
                cells.Has1 = true;
                cells.End1 = end;
                cells.Contents1 = default!;
                return ref cells.Contents1;
            }

            overflow = _overflow[slot] ??= new Dictionary<long, TAcc>();
            return ref CollectionsMarshal.GetValueRefOrAddDefault(overflow, end, out _)!;
        }

        /// <summary>Reads the current key's window ending at <paramref name="end"/>.</summary>
        public bool TryGetValue(long end, out TAcc contents)
        {
            int slot = Store.CurrentSlot;
            ref Cells cells = ref _cells[slot];
            if (cells.Has0 && cells.End0 == end)
            {
                contents = cells.Contents0;
                return true;
            }

            if (cells.Has1 && cells.End1 == end)
            {
                contents = cells.Contents1;
                return true;
            }

            if (_overflow[slot] is { Count: > 0 } overflow)
            {
                return overflow.TryGetValue(end, out contents!);
            }

            contents = default!;
            return false;
        }

        /// <summary>Removes the current key's window ending at <paramref name="end"/>; returns whether it was open.</summary>
        public bool Remove(long end)
        {
            int slot = Store.CurrentSlot;
            ref Cells cells = ref _cells[slot];
            bool removed;
            if (cells.Has0 && cells.End0 == end)
            {
                cells.Has0 = false;
                cells.Contents0 = default!;
                removed = true;
            }
            else if (cells.Has1 && cells.End1 == end)
            {
                cells.Has1 = false;
                cells.Contents1 = default!;
                removed = true;
            }
            else
            {
                removed = _overflow[slot] is { Count: > 0 } overflow && overflow.Remove(end);
            }

            if (removed && CountOf(slot) == 0)
            {
                Store.OnStateRemoved(slot);
            }

            return removed;
        }

        /// <summary>The ends of the current key's open windows.</summary>
        public IEnumerable<long> Ends()
        {
            int slot = Store.CurrentSlot;
            Cells cells = _cells[slot];
            if (cells.Has0)
            {
                yield return cells.End0;
            }

            if (cells.Has1)
            {
                yield return cells.End1;
            }

            if (_overflow[slot] is { Count: > 0 } overflow)
            {
                foreach (long end in overflow.Keys)
                {
                    yield return end;
                }
            }
        }

        private int CountOf(int slot)
        {
            ref Cells cells = ref _cells[slot];
            return (cells.Has0 ? 1 : 0) + (cells.Has1 ? 1 : 0) + (_overflow[slot]?.Count ?? 0);
        }

        internal override void Resize(int capacity)
        {
            Array.Resize(ref _cells, capacity);
            Array.Resize(ref _overflow, capacity);
        }

        internal override void ReleaseSlot(int slot) => Clear(slot);

        internal override void ExpireSlot(int slot, long now)
        {
            // Windows have no time-to-live: their timers clear them.
        }

        internal override long WriteSlot(int slot, SlotWriter writer)
        {
            int count = CountOf(slot);
            if (count == 0)
            {
                return long.MinValue;
            }

            // The layout of a map state of long to the contents: count, then framed key and value pairs.
            writer.WriteInt32(count);
            ref Cells cells = ref _cells[slot];
            if (cells.Has0)
            {
                WriteEntry(writer, cells.End0, in cells.Contents0);
            }

            if (cells.Has1)
            {
                WriteEntry(writer, cells.End1, in cells.Contents1);
            }

            if (_overflow[slot] is { Count: > 0 } overflow)
            {
                foreach (KeyValuePair<long, TAcc> entry in overflow)
                {
                    TAcc contents = entry.Value;
                    WriteEntry(writer, entry.Key, in contents);
                }
            }

            return long.MaxValue;
        }

        private void WriteEntry(SlotWriter writer, long end, in TAcc contents)
        {
            writer.WriteFramed(MemoryPackStateSerializer<long>.Instance, in end);
            writer.WriteFramed(_serializer, in contents);
        }

        internal override void ReadSlot(int slot, ref SlotReader reader)
        {
            int count = reader.ReadCount(2 * sizeof(int));
            for (int i = 0; i < count; i++)
            {
                long end = reader.ReadFramed(MemoryPackStateSerializer<long>.Instance);
                TAcc contents = reader.ReadFramed(_serializer);
                ref Cells cells = ref _cells[slot];
                if ((cells.Has0 && cells.End0 == end) || (cells.Has1 && cells.End1 == end) || (_overflow[slot]?.ContainsKey(end) ?? false))
                {
                    // Checked against what was read so far: no set allocated per restored key.
                    throw reader.Fail($"the window ending at {end} appears twice");
                }

                if (!cells.Has0)
                {
                    cells = cells with { Has0 = true, End0 = end, Contents0 = contents };
                }
                else if (!cells.Has1)
                {
                    cells = cells with { Has1 = true, End1 = end, Contents1 = contents };
                }
                else
                {
                    (_overflow[slot] ??= new Dictionary<long, TAcc>()).Add(end, contents);
                }
            }

            if (count > 0)
            {
                Store.OnStateAdded(slot);
            }

            reader.ReadEnd();
        }

        internal override void EvictSlot(int slot) => Clear(slot);

        private void Clear(int slot)
        {
            _cells[slot] = default;
            _overflow[slot]?.Clear();
        }

        /// <summary>A key's first two windows, inline.</summary>
        private struct Cells
        {
            public long End0;
            public long End1;
            public TAcc Contents0;
            public TAcc Contents1;
            public bool Has0;
            public bool Has1;
        }
    }
}
