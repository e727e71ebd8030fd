using System;
using System.Buffers;
using System.Collections.Generic;
using System.Runtime.CompilerServices;

namespace Weir.State
{
    /// <summary>
    /// The storage shared by the operator list states (<see cref="OperatorListState{T}"/> and
    /// <see cref="UnionListState{T}"/>), which differ only in how they are redistributed on restore.
    /// Entries live in a growable array, so value types are stored unboxed and, once the array has
    /// grown to the list's working size, adding entries allocates nothing.
    /// </summary>
    /// <typeparam name="T">The type of the entries.</typeparam>
    public abstract class OperatorListStateBase<T> : OperatorState
    {
        private const int InitialCapacity = 4;

        private readonly IStateSerializer<T> _serializer;
        private T[] _items = Array.Empty<T>();
        private int _count;

        private protected OperatorListStateBase(string name, IStateSerializer<T> serializer)
            : base(name)
        {
            ArgumentNullException.ThrowIfNull(serializer);
            _serializer = serializer;
        }

        /// <summary>The entries, in the order they were added. Valid until the list is next changed.</summary>
        public ReadOnlySpan<T> Items
        {
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            get => new(_items, 0, _count);
        }

        /// <summary>The number of entries.</summary>
        public int Count
        {
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            get => _count;
        }

        private protected abstract StateSnapshotKind SnapshotKind { get; }

        /// <summary>Appends one entry.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Add(in T item)
        {
            T[] items = _items;
            int count = _count;
            if ((uint)count < (uint)items.Length)
            {
                items[count] = item;
                _count = count + 1;
            }
            else
            {
                AddWithGrowth(in item);
            }
        }

        /// <summary>Appends entries in order.</summary>
        public void AddAll(ReadOnlySpan<T> items)
        {
            int newCount = CheckedCount((long)_count + items.Length);
            if (newCount > _items.Length)
            {
                // Resizing keeps the old array alive until the copy below, so items may be this list's own Items.
                Array.Resize(ref _items, GrownCapacity(newCount));
            }

            items.CopyTo(_items.AsSpan(_count));
            _count = newCount;
        }

        /// <summary>Replaces all entries with <paramref name="items"/>.</summary>
        public void Update(ReadOnlySpan<T> items)
        {
            int oldCount = _count;
            if (items.Length > _items.Length)
            {
                _items = new T[GrownCapacity(items.Length)];
            }

            items.CopyTo(_items);
            _count = items.Length;
            ReleaseReferences(_count, oldCount);
        }

        /// <summary>Removes all entries; the list keeps its capacity.</summary>
        public void Clear()
        {
            int oldCount = _count;
            _count = 0;
            ReleaseReferences(0, oldCount);
        }

        /// <inheritdoc/>
        public override void WriteSnapshot(IBufferWriter<byte> output)
        {
            ArgumentNullException.ThrowIfNull(output);
            var writer = new StateSnapshotWriter(output, SnapshotKind, _count);
            for (int i = 0; i < _count; i++)
            {
                writer.WriteValue(_serializer, in _items[i]);
            }
        }

        /// <inheritdoc/>
        public override void RestoreSnapshot(ReadOnlySpan<byte> snapshot)
        {
            T[] entries = ReadSnapshot(snapshot);
            Replace(entries);
        }

        /// <inheritdoc/>
        public override void RestoreRedistributed(IReadOnlyList<ReadOnlyMemory<byte>> oldSubtaskSnapshots, int subtaskIndex, int newParallelism)
        {
            ValidateSubtask(oldSubtaskSnapshots, subtaskIndex, newParallelism);
            var oldLists = new T[oldSubtaskSnapshots.Count][];
            for (int i = 0; i < oldLists.Length; i++)
            {
                oldLists[i] = ReadSnapshot(oldSubtaskSnapshots[i].Span);
            }

            Replace(Redistribute(oldLists, subtaskIndex, newParallelism));
        }

        /// <summary>
        /// Reads the entries of a snapshot written by a list state of this name and kind, without
        /// changing this state.
        /// </summary>
        public T[] ReadSnapshot(ReadOnlySpan<byte> snapshot)
        {
            var reader = new StateSnapshotReader(snapshot, Name);
            int count = reader.ReadHeaderAndCount(SnapshotKind, framesPerEntry: 1);
            var entries = new T[count];
            for (int i = 0; i < count; i++)
            {
                entries[i] = reader.ReadValue(_serializer, "entry", i, count);
            }

            reader.ReadEnd();
            return entries;
        }

        private protected abstract T[] Redistribute(T[][] oldLists, int subtaskIndex, int newParallelism);

        private void Replace(T[] entries)
        {
            _items = entries;
            _count = entries.Length;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private void AddWithGrowth(in T item)
        {
            int count = _count;
            Array.Resize(ref _items, GrownCapacity(CheckedCount((long)count + 1)));
            _items[count] = item;
            _count = count + 1;
        }

        private int GrownCapacity(int required)
        {
            long doubled = Math.Max((long)_items.Length * 2, InitialCapacity);
            return (int)Math.Min(Math.Max(doubled, required), Array.MaxLength);
        }

        private int CheckedCount(long count)
        {
            if (count > Array.MaxLength)
            {
                throw new InvalidOperationException($"Operator list state '{Name}' cannot hold {count} entries, more than an array can hold.");
            }

            return (int)count;
        }

        // Slots past the count would otherwise keep removed objects alive until overwritten.
        private void ReleaseReferences(int from, int to)
        {
            if (RuntimeHelpers.IsReferenceOrContainsReferences<T>() && to > from)
            {
                Array.Clear(_items, from, to - from);
            }
        }
    }
}
