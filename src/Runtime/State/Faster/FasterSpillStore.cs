using System;
using System.Buffers;
using System.Buffers.Binary;
using System.IO;

namespace Weir.State.Faster
{
    /// <summary>
    /// The FASTER state backend of one subtask: a <see cref="FasterBytesStore"/> holding the keyed state of
    /// every keyed operator of the subtask's chain, one entry per (operator, key), plus the compaction
    /// policy that keeps its log bounded.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Keys: <c>[key group: u16 big-endian][operator hash: u64 big-endian][the key, serialized]</c>, so
    /// <see cref="FasterBytesStore.Scan"/> can cut the state by key-group range. Values: every state of the
    /// operator for that key in <see cref="KeyedSlotFormat"/>, whose header says when all of it expires.
    /// </para>
    /// <para>
    /// Each <see cref="KeyedStateTable{TKey}"/> keeps a bounded cache of recently used keys in its slots
    /// (<see cref="CachedKeys"/> per operator) and reads and writes this store only when a key enters or
    /// leaves that cache. Compaction runs when the log has doubled since the last one (and is beyond
    /// twice the in-memory log); it drops superseded versions and keys whose every state has expired, which
    /// is the time-to-live cleanup of keys that are never read again (Flink's compaction filter).
    /// </para>
    /// </remarks>
    internal sealed class FasterSpillStore : IDisposable
    {
        /// <summary>Bytes before the serialized key: key group and operator hash.</summary>
        public const int KeyPrefixSize = sizeof(ushort) + sizeof(ulong);

        private readonly FasterBytesStore _store;
        private readonly ArrayBufferWriter<byte> _read = new();
        private readonly ArrayBufferWriter<byte> _assembled = new();
        private readonly SlotWriter _chunk = new();
        private readonly SlotWriter _chunkKey = new();
        private readonly ArrayBufferWriter<byte> _part = new();
        private long _compactAtBytes;

        public FasterSpillStore(string directory, long memoryBudgetBytes, int cachedKeys)
        {
            _store = new FasterBytesStore(directory, memoryBudgetBytes);
            CachedKeys = cachedKeys;
            _compactAtBytes = 2 * _store.LogMemoryBytes;
        }

        /// <summary>Keys each keyed operator keeps deserialized in memory.</summary>
        public int CachedKeys { get; }

        /// <summary>The store's directory.</summary>
        public string Directory => _store.Directory;

        /// <summary>Scratch for the key being composed (one thread per subtask).</summary>
        public SlotWriter Key { get; } = new();

        /// <summary>Scratch for the value being written.</summary>
        public SlotWriter Value { get; } = new();

        /// <summary>
        /// Snapshots that may still read old versions of the log (<see cref="FasterBytesStore.ScanVersionsBelow"/>);
        /// while any does, compaction waits, because it drops old versions and truncates the log. Changed only
        /// on the owner's thread; the snapshot thread never touches it.
        /// </summary>
        public int CompactionHolds { get; set; }

        /// <summary>The byte store underneath (for snapshots).</summary>
        public FasterBytesStore Bytes => _store;

        /// <summary>Times compaction ran (for tests and logs).</summary>
        public int Compactions { get; private set; }

        /// <summary>Starts composing the store key of an operator's key in <see cref="Key"/>; the caller appends the serialized key.</summary>
        public SlotWriter BeginKey(int keyGroup, ulong operatorHash)
        {
            SlotWriter key = Key;
            key.Reset();
            Span<byte> prefix = key.GetSpan(KeyPrefixSize);
            BinaryPrimitives.WriteUInt16BigEndian(prefix, (ushort)keyGroup);
            BinaryPrimitives.WriteUInt64BigEndian(prefix.Slice(sizeof(ushort)), operatorHash);
            key.Advance(KeyPrefixSize);
            return key;
        }

        /// <summary>
        /// Reads the value of a composed key, reassembling it if it was stored in chunks; the span is valid
        /// until the next read.
        /// </summary>
        /// <param name="key">The composed key.</param>
        /// <param name="value">The value.</param>
        /// <param name="chunks">How many chunk entries hold it (0: the value is the key's own entry).</param>
        public bool TryRead(ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value, out int chunks)
        {
            _read.ResetWrittenCount();
            chunks = 0;
            if (!_store.TryRead(key, _read))
            {
                value = default;
                return false;
            }

            value = _read.WrittenSpan;
            if (value.Length == ChunkedHeadSize && value[0] == KeyedSlotFormat.ChunkedHead)
            {
                int total = BinaryPrimitives.ReadInt32LittleEndian(value.Slice(1 + sizeof(long)));
                chunks = BinaryPrimitives.ReadInt32LittleEndian(value.Slice(1 + sizeof(long) + sizeof(int)));
                value = ReadChunks(key, total, chunks);
            }

            return true;
        }

        /// <summary>
        /// Writes a key's state; compacts the log when it has grown enough. A value too large for one
        /// log page is split into chunk entries (keys with the operator hash inverted, so scans of the
        /// operator never see them, and an index) behind a small head entry under the key itself.
        /// </summary>
        /// <param name="key">The composed key.</param>
        /// <param name="value">The key's state.</param>
        /// <param name="previousChunks">Chunks the key had in the store (read or written last), to delete those no longer used.</param>
        /// <param name="now">Processing time (Unix ms), to drop expired keys if compaction runs.</param>
        /// <returns>The number of chunk entries now holding the value (0: none).</returns>
        public int Write(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, int previousChunks, long now)
        {
            int chunks = 0;
            if (key.Length + value.Length <= FasterBytesStore.MaxKeyAndValueBytes)
            {
                _store.Upsert(key, value);
            }
            else
            {
                chunks = WriteChunks(key, value);
            }

            DeleteChunks(key, chunks, previousChunks);
            if (_store.LogBytes >= _compactAtBytes && CompactionHolds == 0)
            {
                Compact(now);
            }

            return chunks;
        }

        /// <summary>Deletes a key's state and its chunks.</summary>
        public void Delete(ReadOnlySpan<byte> key, int chunks)
        {
            _store.Delete(key);
            DeleteChunks(key, 0, chunks);
        }

        /// <summary>Number of entries in the store, chunks included (for tests).</summary>
        internal int CountEntries()
        {
            int count = 0;
            _store.Scan(0, ushort.MaxValue, (_, _) => count++);
            return count;
        }

        internal const int ChunkedHeadSize = 1 + sizeof(long) + sizeof(int) + sizeof(int);
        internal const int ChunkHeaderSize = 1 + sizeof(long);

        private int WriteChunks(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
        {
            long expiresAt = KeyedSlotFormat.ReadExpiresAt(value);
            int chunkData = FasterBytesStore.MaxKeyAndValueBytes - key.Length - sizeof(int) - ChunkHeaderSize;
            int chunks = (value.Length + chunkData - 1) / chunkData;
            SlotWriter entry = _chunk;
            for (int index = 0; index < chunks; index++)
            {
                ReadOnlySpan<byte> part = value.Slice(index * chunkData, Math.Min(chunkData, value.Length - (index * chunkData)));
                entry.Reset();
                entry.WriteByte(KeyedSlotFormat.Chunk);
                entry.WriteInt64(expiresAt);
                part.CopyTo(entry.GetSpan(part.Length));
                entry.Advance(part.Length);
                _store.Upsert(ChunkKey(key, index), entry.WrittenSpan);
            }

            // The head goes last: a reader that finds it finds every chunk it names.
            entry.Reset();
            entry.WriteByte(KeyedSlotFormat.ChunkedHead);
            entry.WriteInt64(expiresAt);
            entry.WriteInt32(value.Length);
            entry.WriteInt32(chunks);
            _store.Upsert(key, entry.WrittenSpan);
            return chunks;
        }

        private ReadOnlySpan<byte> ReadChunks(ReadOnlySpan<byte> key, int total, int chunks)
        {
            _assembled.ResetWrittenCount();
            ArrayBufferWriter<byte> part = _part;
            for (int index = 0; index < chunks; index++)
            {
                part.ResetWrittenCount();
                if (!_store.TryRead(ChunkKey(key, index), part) || part.WrittenCount < ChunkHeaderSize || part.WrittenSpan[0] != KeyedSlotFormat.Chunk)
                {
                    throw new StateSnapshotException("(all states)",
                        $"The FASTER state store in '{Directory}' is missing chunk {index + 1} of {chunks} of a key's state (or it is damaged). " +
                        "Start the job without it (a fresh state directory).");
                }

                _assembled.Write(part.WrittenSpan.Slice(ChunkHeaderSize));
            }

            if (_assembled.WrittenCount != total)
            {
                throw new StateSnapshotException("(all states)",
                    $"The FASTER state store in '{Directory}' holds {_assembled.WrittenCount} bytes in the chunks of a key's state, not the {total} its head says.");
            }

            return _assembled.WrittenSpan;
        }

        private void DeleteChunks(ReadOnlySpan<byte> key, int from, int to)
        {
            for (int index = from; index < to; index++)
            {
                _store.Delete(ChunkKey(key, index));
            }
        }

        /// <summary>The key of one chunk: the key with its operator hash inverted (invisible to the operator's scans), then the chunk index.</summary>
        private ReadOnlySpan<byte> ChunkKey(ReadOnlySpan<byte> key, int index)
        {
            SlotWriter chunkKey = _chunkKey;
            chunkKey.Reset();
            Span<byte> prefix = chunkKey.GetSpan(KeyPrefixSize);
            key.Slice(0, sizeof(ushort)).CopyTo(prefix);
            BinaryPrimitives.WriteUInt64BigEndian(prefix.Slice(sizeof(ushort)), ~BinaryPrimitives.ReadUInt64BigEndian(key.Slice(sizeof(ushort))));
            chunkKey.Advance(KeyPrefixSize);
            ReadOnlySpan<byte> rest = key.Slice(KeyPrefixSize);
            rest.CopyTo(chunkKey.GetSpan(rest.Length));
            chunkKey.Advance(rest.Length);
            chunkKey.WriteInt32(index);
            return chunkKey.WrittenSpan;
        }

        /// <summary>Calls <paramref name="visit"/> with the key group and serialized key of every stored key of an operator in a key-group range.</summary>
        public void ScanKeys(int firstKeyGroup, int lastKeyGroup, ulong operatorHash, Action<int, ReadOnlySpan<byte>> visit)
        {
            Span<byte> expected = stackalloc byte[sizeof(ulong)];
            BinaryPrimitives.WriteUInt64BigEndian(expected, operatorHash);
            byte[] operatorBytes = expected.ToArray();
            _store.Scan(firstKeyGroup, lastKeyGroup, (key, _) =>
            {
                if (key.Length >= KeyPrefixSize && key.Slice(sizeof(ushort), sizeof(ulong)).SequenceEqual(operatorBytes))
                {
                    visit(BinaryPrimitives.ReadUInt16BigEndian(key), key.Slice(KeyPrefixSize));
                }
            });
        }

        /// <summary>Compacts the log now: superseded versions and keys whose every state expired by <paramref name="now"/> are dropped.</summary>
        /// <param name="now">Processing time (Unix ms).</param>
        /// <param name="wholeLog">Include the newest, mutable part of the log.</param>
        public long Compact(long now, bool wholeLog = false)
        {
            long dropped = _store.Compact((_, value) => KeyedSlotFormat.ReadExpiresAt(value) <= now, wholeLog);
            Compactions++;
            _compactAtBytes = Math.Max(2 * _store.LogMemoryBytes, 2 * _store.LogBytes);
            return dropped;
        }

        public void Dispose() => _store.Dispose();

        /// <summary>Deletes a store directory left by a finished run (its contents are never recovered).</summary>
        public static void DeleteDirectory(string directory)
        {
            try
            {
                if (System.IO.Directory.Exists(directory))
                {
                    System.IO.Directory.Delete(directory, recursive: true);
                }
            }
            catch (IOException)
            {
                // Scratch space: a file still held open elsewhere is left for the next cleanup.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }
}
