using System;
using System.Buffers;
using System.Buffers.Binary;

namespace Weir.State
{
    /// <summary>What a snapshot holds; stored in its header so a snapshot is never read as another kind of state.</summary>
    internal enum StateSnapshotKind : byte
    {
        /// <summary>An even-split operator list state (<see cref="OperatorListState{T}"/>).</summary>
        SplitList = 1,

        /// <summary>A union operator list state (<see cref="UnionListState{T}"/>).</summary>
        UnionList = 2,

        /// <summary>A broadcast map state (<see cref="BroadcastState{TKey, TValue}"/>).</summary>
        BroadcastMap = 3,
    }

    /// <summary>
    /// The byte layout shared by state snapshots. Every snapshot starts with a 3-byte header: the
    /// format version (<c>ushort</c>, little-endian; readers refuse versions they do not know, so the
    /// layout can evolve) and the <see cref="StateSnapshotKind"/> (one byte). Then comes the entry
    /// count (<c>int32</c>, little-endian) and the entries: each serialized value is framed by its
    /// length (<c>int32</c>, little-endian), so truncation is detected before a serializer sees the
    /// bytes and serializers need not be self-delimiting. A list entry is one framed value; a map
    /// entry is its framed key followed by its framed value.
    /// </summary>
    internal static class StateSnapshotFormat
    {
        /// <summary>The format version this build writes and the only one it reads.</summary>
        public const ushort CurrentVersion = 1;

        /// <summary>Bytes of the header (version and kind).</summary>
        public const int HeaderSize = 3;

        /// <summary>Bytes of a length or count field.</summary>
        public const int Int32Size = 4;

        public static string Describe(StateSnapshotKind kind) => kind switch
        {
            StateSnapshotKind.SplitList => "an even-split operator list state",
            StateSnapshotKind.UnionList => "a union operator list state",
            StateSnapshotKind.BroadcastMap => "a broadcast state",
            _ => $"an unknown kind of state ({(byte)kind})",
        };
    }

    /// <summary>Writes one snapshot in <see cref="StateSnapshotFormat"/>.</summary>
    internal sealed class StateSnapshotWriter
    {
        private readonly IBufferWriter<byte> _output;

        // A value's length is written before its bytes, and an IBufferWriter cannot go back to fill
        // a reserved length in, so each value is serialized here first.
        private readonly ArrayBufferWriter<byte> _scratch = new();

        /// <summary>Writes the header and the entry count.</summary>
        public StateSnapshotWriter(IBufferWriter<byte> output, StateSnapshotKind kind, int entryCount)
        {
            _output = output;
            Span<byte> header = output.GetSpan(StateSnapshotFormat.HeaderSize + StateSnapshotFormat.Int32Size);
            BinaryPrimitives.WriteUInt16LittleEndian(header, StateSnapshotFormat.CurrentVersion);
            header[2] = (byte)kind;
            BinaryPrimitives.WriteInt32LittleEndian(header.Slice(StateSnapshotFormat.HeaderSize), entryCount);
            output.Advance(StateSnapshotFormat.HeaderSize + StateSnapshotFormat.Int32Size);
        }

        /// <summary>Writes one value framed by its length.</summary>
        public void WriteValue<T>(IStateSerializer<T> serializer, in T value)
        {
            _scratch.ResetWrittenCount();
            serializer.Serialize(in value, _scratch);
            Span<byte> length = _output.GetSpan(StateSnapshotFormat.Int32Size);
            BinaryPrimitives.WriteInt32LittleEndian(length, _scratch.WrittenCount);
            _output.Advance(StateSnapshotFormat.Int32Size);
            _output.Write(_scratch.WrittenSpan);
        }
    }

    /// <summary>
    /// Reads one snapshot in <see cref="StateSnapshotFormat"/>, turning every defect into a
    /// <see cref="StateSnapshotException"/> that names the state and what is wrong.
    /// </summary>
    internal ref struct StateSnapshotReader
    {
        private readonly ReadOnlySpan<byte> _snapshot;
        private readonly string _stateName;
        private int _position;

        public StateSnapshotReader(ReadOnlySpan<byte> snapshot, string stateName)
        {
            _snapshot = snapshot;
            _stateName = stateName;
            _position = 0;
        }

        private readonly int Remaining => _snapshot.Length - _position;

        /// <summary>Checks the header and reads the entry count.</summary>
        /// <param name="expectedKind">The kind of state being restored.</param>
        /// <param name="framesPerEntry">Length-framed values per entry (1 for a list, 2 for a map), to reject a count the bytes cannot hold before allocating for it.</param>
        public int ReadHeaderAndCount(StateSnapshotKind expectedKind, int framesPerEntry)
        {
            if (_snapshot.Length < StateSnapshotFormat.HeaderSize + StateSnapshotFormat.Int32Size)
            {
                throw Fail($"the snapshot is truncated: it has {_snapshot.Length} bytes, fewer than the " +
                    $"{StateSnapshotFormat.HeaderSize + StateSnapshotFormat.Int32Size} of its header and entry count.");
            }

            ushort version = BinaryPrimitives.ReadUInt16LittleEndian(_snapshot);
            if (version != StateSnapshotFormat.CurrentVersion)
            {
                throw Fail($"the snapshot has format version {version}, but this build of Weir reads only version " +
                    $"{StateSnapshotFormat.CurrentVersion}" +
                    (version > StateSnapshotFormat.CurrentVersion ? " (it was written by a newer Weir)." : "."));
            }

            var kind = (StateSnapshotKind)_snapshot[2];
            if (kind != expectedKind)
            {
                throw Fail($"the snapshot holds {StateSnapshotFormat.Describe(kind)}, not {StateSnapshotFormat.Describe(expectedKind)}.");
            }

            _position = StateSnapshotFormat.HeaderSize;
            int count = BinaryPrimitives.ReadInt32LittleEndian(_snapshot.Slice(_position));
            _position += StateSnapshotFormat.Int32Size;
            if (count < 0)
            {
                throw Fail($"the snapshot is corrupt: its entry count is negative ({count}).");
            }

            long minimumBytes = (long)count * framesPerEntry * StateSnapshotFormat.Int32Size;
            if (minimumBytes > Remaining)
            {
                throw Fail($"the snapshot is truncated: it declares {count} {(count == 1 ? "entry, which needs" : "entries, which need")} at least {minimumBytes} bytes, " +
                    $"but only {Remaining} follow the header.");
            }

            return count;
        }

        /// <summary>Reads one length-framed value.</summary>
        /// <param name="serializer">Reads the value's bytes.</param>
        /// <param name="part">Which value of the entry this is (for error messages): "entry", "key" or "value".</param>
        /// <param name="entry">The entry's index, from 0.</param>
        /// <param name="count">The number of entries.</param>
        public T ReadValue<T>(IStateSerializer<T> serializer, string part, int entry, int count)
        {
            if (Remaining < StateSnapshotFormat.Int32Size)
            {
                throw Fail($"the snapshot is truncated: the length of the {Where(part, entry, count)} needs " +
                    $"{StateSnapshotFormat.Int32Size} bytes at offset {_position}, but only {Remaining} remain.");
            }

            int length = BinaryPrimitives.ReadInt32LittleEndian(_snapshot.Slice(_position));
            _position += StateSnapshotFormat.Int32Size;
            if (length < 0)
            {
                throw Fail($"the snapshot is corrupt: the {Where(part, entry, count)} has a negative length ({length}).");
            }

            if (length > Remaining)
            {
                throw Fail($"the snapshot is truncated: the {Where(part, entry, count)} needs {length} bytes at offset " +
                    $"{_position}, but only {Remaining} remain.");
            }

            ReadOnlySpan<byte> bytes = _snapshot.Slice(_position, length);
            _position += length;
            try
            {
                return serializer.Deserialize(bytes);
            }
            catch (Exception exception) when (exception is not StateSnapshotException)
            {
                throw Fail($"the {Where(part, entry, count)} cannot be read as {TypeNames.Display(typeof(T))}: {exception.Message}", exception);
            }
        }

        /// <summary>Checks that no bytes follow the last entry (they would mean a corrupt count or a foreign snapshot).</summary>
        public readonly void ReadEnd()
        {
            if (Remaining != 0)
            {
                throw Fail($"the snapshot is corrupt: {Remaining} unexpected bytes follow its last entry.");
            }
        }

        /// <summary>An exception about this snapshot.</summary>
        public readonly StateSnapshotException Fail(string problem, Exception? innerException = null)
            => new(_stateName, $"Cannot restore state '{_stateName}': {problem}", innerException);

        private static string Where(string part, int entry, int count)
            => part == "entry" ? $"entry {entry + 1} of {count}" : $"{part} of entry {entry + 1} of {count}";
    }
}
