using System;
using System.Buffers;
using System.Buffers.Binary;

namespace Weir.State
{
    /// <summary>
    /// The bytes of one key's keyed state (every declared state of an operator for that key), as the
    /// FASTER backend stores them and as keyed-state snapshots will carry them:
    /// <code>
    /// u8  format version (1)
    /// i64 expires-at: Unix ms after which every state of the key has expired (long.MaxValue: a state without time-to-live holds a value)
    /// u16 number of states, then per state in declaration order:
    ///     i32 length of the state's bytes (0: the state is empty for this key), then the bytes
    /// </code>
    /// Every integer is little-endian. A state's own bytes are written by its column; serialized
    /// values inside are framed by an i32 length, so serializers need not be self-delimiting.
    /// </summary>
    internal static class KeyedSlotFormat
    {
        public const byte CurrentVersion = 1;

        /// <summary>Bytes before the first state: version, expires-at and state count.</summary>
        public const int HeaderSize = 1 + sizeof(long) + sizeof(ushort);

        /// <summary>First byte of the head entry of a key whose bytes the FASTER backend split into chunks (see <c>FasterSpillStore</c>).</summary>
        public const byte ChunkedHead = 0xC1;

        /// <summary>First byte of one chunk of such a key.</summary>
        public const byte Chunk = 0xC2;

        /// <summary>
        /// Reads the expires-at field that follows the first byte of a key's bytes, of a chunked head
        /// or of a chunk (for compaction filters), or long.MaxValue when there is none.
        /// </summary>
        public static long ReadExpiresAt(ReadOnlySpan<byte> bytes)
            => bytes.Length >= 1 + sizeof(long) && bytes[0] is CurrentVersion or ChunkedHead or Chunk
                ? BinaryPrimitives.ReadInt64LittleEndian(bytes.Slice(1))
                : long.MaxValue;
    }

    /// <summary>
    /// A growable byte buffer for one key's state bytes. It is an <see cref="IBufferWriter{T}"/> so
    /// serializers write straight into it, and lengths can be reserved and filled in afterwards, so
    /// nothing is serialized twice or copied.
    /// </summary>
    internal sealed class SlotWriter : IBufferWriter<byte>
    {
        private byte[] _buffer = new byte[256];
        private int _length;

        /// <summary>The bytes written so far.</summary>
        public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _length);

        /// <summary>Number of bytes written so far.</summary>
        public int Length => _length;

        public void Reset() => _length = 0;

        public void Advance(int count) => _length += count;

        public Memory<byte> GetMemory(int sizeHint = 0)
        {
            Ensure(sizeHint);
            return _buffer.AsMemory(_length);
        }

        public Span<byte> GetSpan(int sizeHint = 0)
        {
            Ensure(sizeHint);
            return _buffer.AsSpan(_length);
        }

        public void WriteByte(byte value)
        {
            Ensure(1);
            _buffer[_length++] = value;
        }

        public void WriteInt32(int value)
        {
            BinaryPrimitives.WriteInt32LittleEndian(GetSpan(sizeof(int)), value);
            _length += sizeof(int);
        }

        public void WriteInt64(long value)
        {
            BinaryPrimitives.WriteInt64LittleEndian(GetSpan(sizeof(long)), value);
            _length += sizeof(long);
        }

        public void WriteUInt16(ushort value)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(GetSpan(sizeof(ushort)), value);
            _length += sizeof(ushort);
        }

        /// <summary>Reserves an i32 to be filled in later with <see cref="PatchInt32"/>; returns its position.</summary>
        public int ReserveInt32()
        {
            int position = _length;
            WriteInt32(0);
            return position;
        }

        public void PatchInt32(int position, int value)
            => BinaryPrimitives.WriteInt32LittleEndian(_buffer.AsSpan(position), value);

        public void PatchInt64(int position, long value)
            => BinaryPrimitives.WriteInt64LittleEndian(_buffer.AsSpan(position), value);

        /// <summary>Writes a value framed by its i32 length.</summary>
        public void WriteFramed<T>(IStateSerializer<T> serializer, in T value)
        {
            int lengthAt = ReserveInt32();
            int start = _length;
            serializer.Serialize(in value, this);
            PatchInt32(lengthAt, _length - start);
        }

        private void Ensure(int sizeHint)
        {
            int needed = _length + Math.Max(sizeHint, 1);
            if (needed > _buffer.Length)
            {
                Array.Resize(ref _buffer, Math.Max(needed, _buffer.Length * 2));
            }
        }
    }

    /// <summary>
    /// Reads one state's bytes written by its column, turning truncation and serializer failures into
    /// a <see cref="StateSnapshotException"/> that names the operator, the state and what is wrong.
    /// </summary>
    internal ref struct SlotReader
    {
        private readonly ReadOnlySpan<byte> _bytes;
        private readonly string _operatorId;
        private readonly string _stateName;
        private int _position;

        public SlotReader(ReadOnlySpan<byte> bytes, string operatorId, string stateName)
        {
            _bytes = bytes;
            _operatorId = operatorId;
            _stateName = stateName;
            _position = 0;
        }

        public readonly bool AtEnd => _position == _bytes.Length;

        public int ReadInt32()
        {
            Need(sizeof(int), "a length or count");
            int value = BinaryPrimitives.ReadInt32LittleEndian(_bytes.Slice(_position));
            _position += sizeof(int);
            return value;
        }

        public long ReadInt64()
        {
            Need(sizeof(long), "a time stamp");
            long value = BinaryPrimitives.ReadInt64LittleEndian(_bytes.Slice(_position));
            _position += sizeof(long);
            return value;
        }

        /// <summary>Reads a count and checks that the remaining bytes can hold that many items of at least <paramref name="minimumItemBytes"/> each.</summary>
        public int ReadCount(int minimumItemBytes)
        {
            int count = ReadInt32();
            if (count < 0 || (long)count * minimumItemBytes > _bytes.Length - _position)
            {
                throw Fail($"it declares {count} items, which the remaining {_bytes.Length - _position} bytes cannot hold");
            }

            return count;
        }

        public T ReadFramed<T>(IStateSerializer<T> serializer)
        {
            int length = ReadInt32();
            if (length < 0)
            {
                throw Fail($"a value has a negative length ({length})");
            }

            Need(length, "a value");
            ReadOnlySpan<byte> value = _bytes.Slice(_position, length);
            _position += length;
            try
            {
                return serializer.Deserialize(value);
            }
            catch (Exception exception) when (exception is not StateSnapshotException)
            {
                throw Fail($"a value cannot be read as {TypeNames.Display(typeof(T))}: {exception.Message}", exception);
            }
        }

        /// <summary>Reads the rest of the bytes as one value (a value state's payload after its stamp).</summary>
        public T ReadRest<T>(IStateSerializer<T> serializer)
        {
            ReadOnlySpan<byte> value = _bytes.Slice(_position);
            _position = _bytes.Length;
            try
            {
                return serializer.Deserialize(value);
            }
            catch (Exception exception) when (exception is not StateSnapshotException)
            {
                throw Fail($"its value cannot be read as {TypeNames.Display(typeof(T))}: {exception.Message}", exception);
            }
        }

        public readonly void ReadEnd()
        {
            if (!AtEnd)
            {
                throw Fail($"{_bytes.Length - _position} unexpected bytes follow its last item");
            }
        }

        public readonly StateSnapshotException Fail(string problem, Exception? inner = null)
            => new(_stateName, $"The stored state '{_stateName}' of operator '{_operatorId}' is corrupt: {problem}. " +
                "The state store was written by another version of the job or damaged; start the job without it (a fresh state directory).", inner);

        private readonly void Need(int count, string what)
        {
            if (_bytes.Length - _position < count)
            {
                throw Fail($"it is truncated: {what} needs {count} bytes at offset {_position}, but only {_bytes.Length - _position} remain");
            }
        }
    }
}
