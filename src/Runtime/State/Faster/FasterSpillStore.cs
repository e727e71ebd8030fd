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

        /// <summary>Reads the value of a composed key; the span is valid until the next read.</summary>
        public bool TryRead(ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
        {
            _read.ResetWrittenCount();
            if (_store.TryRead(key, _read))
            {
                value = _read.WrittenSpan;
                return true;
            }

            value = default;
            return false;
        }

        /// <summary>Writes a key's state; compacts the log when it has grown enough.</summary>
        /// <param name="key">The composed key.</param>
        /// <param name="value">The key's state.</param>
        /// <param name="now">Processing time (Unix ms), to drop expired keys if compaction runs.</param>
        public void Write(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long now)
        {
            if (key.Length + value.Length > FasterBytesStore.MaxKeyAndValueBytes)
            {
                throw new InvalidOperationException(
                    $"The state of one key is {value.Length} bytes, more than the FASTER state backend stores per key " +
                    $"({FasterBytesStore.MaxKeyAndValueBytes} bytes with its key). Keep less state per key (for example a time-to-live on " +
                    "list or map state), or use the heap backend.");
            }

            _store.Upsert(key, value);
            if (_store.LogBytes >= _compactAtBytes)
            {
                Compact(now);
            }
        }

        /// <summary>Deletes a key's state.</summary>
        public void Delete(ReadOnlySpan<byte> key) => _store.Delete(key);

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
