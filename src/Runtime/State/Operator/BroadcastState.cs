using System;
using System.Buffers;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using Weir.State;

namespace Weir
{
    /// <summary>
    /// A map that is identical on every subtask of an operator (Flink's broadcast state): the broadcast
    /// side of a broadcast-connected operator writes it with the same elements, in the same order, on
    /// every subtask, and the other side reads it through <see cref="ReadOnly"/>. Updates must be
    /// deterministic, or the copies drift apart. Each subtask snapshots its own copy; on restore new
    /// subtask <c>i</c> takes the copy of old subtask <c>i % oldParallelism</c>.
    /// </summary>
    /// <typeparam name="TKey">The type of the keys.</typeparam>
    /// <typeparam name="TValue">The type of the values; prefer immutable types, since readers receive the stored instances.</typeparam>
    public sealed class BroadcastState<TKey, TValue> : OperatorState
        where TKey : notnull
    {
        private readonly Dictionary<TKey, TValue> _entries = new();
        private readonly IStateSerializer<TKey> _keySerializer;
        private readonly IStateSerializer<TValue> _valueSerializer;

        /// <summary>Creates an empty state.</summary>
        /// <param name="name">The state's name, unique within its operator.</param>
        /// <param name="keySerializer">Writes keys to snapshots, for example <see cref="MemoryPackStateSerializer{T}.Instance"/>.</param>
        /// <param name="valueSerializer">Writes values to snapshots.</param>
        public BroadcastState(string name, IStateSerializer<TKey> keySerializer, IStateSerializer<TValue> valueSerializer)
            : base(name)
        {
            ArgumentNullException.ThrowIfNull(keySerializer);
            ArgumentNullException.ThrowIfNull(valueSerializer);
            _keySerializer = keySerializer;
            _valueSerializer = valueSerializer;
            ReadOnly = new ReadOnlyBroadcastState<TKey, TValue>(this);
        }

        /// <summary>A view of this state that can read it but not change it: what the non-broadcast side of the operator receives.</summary>
        public ReadOnlyBroadcastState<TKey, TValue> ReadOnly { get; }

        /// <summary>The number of entries.</summary>
        public int Count => _entries.Count;

        /// <inheritdoc/>
        public override OperatorStateDistribution Distribution => OperatorStateDistribution.Broadcast;

        /// <summary>Sets the value of <paramref name="key"/>, adding the entry or replacing its value.</summary>
        public void Put(TKey key, TValue value) => _entries[key] = value;

        /// <summary>Removes the entry of <paramref name="key"/>; returns whether there was one.</summary>
        public bool Remove(TKey key) => _entries.Remove(key);

        /// <summary>Reads the value of <paramref name="key"/> if it has an entry.</summary>
        public bool TryGetValue(TKey key, [MaybeNullWhen(false)] out TValue value) => _entries.TryGetValue(key, out value);

        /// <summary>Whether <paramref name="key"/> has an entry.</summary>
        public bool Contains(TKey key) => _entries.ContainsKey(key);

        /// <summary>Removes all entries.</summary>
        public void Clear() => _entries.Clear();

        /// <summary>Enumerates the entries without allocating. Changing the state during enumeration fails the enumeration.</summary>
        public Enumerator GetEnumerator() => new(_entries.GetEnumerator());

        /// <inheritdoc/>
        public override void WriteSnapshot(IBufferWriter<byte> output)
        {
            ArgumentNullException.ThrowIfNull(output);
            var writer = new StateSnapshotWriter(output, StateSnapshotKind.BroadcastMap, _entries.Count);
            foreach (KeyValuePair<TKey, TValue> entry in _entries)
            {
                writer.WriteValue(_keySerializer, entry.Key);
                writer.WriteValue(_valueSerializer, entry.Value);
            }
        }

        /// <inheritdoc/>
        public override void RestoreSnapshot(ReadOnlySpan<byte> snapshot)
        {
            Dictionary<TKey, TValue> restored = ReadSnapshot(snapshot);
            _entries.Clear();
            foreach (KeyValuePair<TKey, TValue> entry in restored)
            {
                _entries.Add(entry.Key, entry.Value);
            }
        }

        /// <inheritdoc/>
        public override void RestoreRedistributed(IReadOnlyList<ReadOnlyMemory<byte>> oldSubtaskSnapshots, int subtaskIndex, int newParallelism)
        {
            ValidateSubtask(oldSubtaskSnapshots, subtaskIndex, newParallelism);
            int source = OperatorStateRedistribution.BroadcastSource(subtaskIndex, oldSubtaskSnapshots.Count);
            RestoreSnapshot(oldSubtaskSnapshots[source].Span);
        }

        private Dictionary<TKey, TValue> ReadSnapshot(ReadOnlySpan<byte> snapshot)
        {
            var reader = new StateSnapshotReader(snapshot, Name);
            int count = reader.ReadHeaderAndCount(StateSnapshotKind.BroadcastMap, framesPerEntry: 2);
            var entries = new Dictionary<TKey, TValue>(count);
            for (int i = 0; i < count; i++)
            {
                TKey key = reader.ReadValue(_keySerializer, "key", i, count);
                TValue value = reader.ReadValue(_valueSerializer, "value", i, count);
                if (key is null)
                {
                    throw reader.Fail($"the snapshot is corrupt: the key of entry {i + 1} of {count} is null.");
                }

                if (!entries.TryAdd(key, value))
                {
                    throw reader.Fail($"the snapshot is corrupt: the key of entry {i + 1} of {count} ({key}) appears twice.");
                }
            }

            reader.ReadEnd();
            return entries;
        }

        /// <summary>Enumerates the entries of a broadcast state; a struct, so <c>foreach</c> allocates nothing.</summary>
        public struct Enumerator
        {
            private Dictionary<TKey, TValue>.Enumerator _inner;

            internal Enumerator(Dictionary<TKey, TValue>.Enumerator inner) => _inner = inner;

            /// <summary>The current entry.</summary>
            public readonly KeyValuePair<TKey, TValue> Current => _inner.Current;

            /// <summary>Moves to the next entry; returns false after the last.</summary>
            public bool MoveNext() => _inner.MoveNext();
        }
    }
}
