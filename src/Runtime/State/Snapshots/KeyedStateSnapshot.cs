using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Weir.Checkpointing.Storage;
using Weir.Execution;

namespace Weir.State
{
    /// <summary>
    /// Writes the keyed state of one operator subtask to a stream and restores it, on either backend and
    /// at any parallelism: every key carries its key group, so a reader keeps exactly the keys of its own
    /// key-group range (rescaling) and a snapshot written from the heap restores into FASTER and back.
    /// </summary>
    /// <remarks>
    /// Layout (integers little-endian):
    /// <code>
    /// "WEIRKEYS"  magic
    /// u16         format version (2)
    /// u8          content: 0 full (every key with state, once), 1 delta (changes to apply on the
    ///             previous stream of a checkpoint chain, in order: a later entry of a key wins)
    /// u16         number of states, then per state: u16 + UTF-8 name, u8 kind, u16 + UTF-8 type name
    /// entries:    i32 key group, i32 + serialized key, i32 + the key's states (KeyedSlotFormat);
    ///             in a delta, 0 state bytes mean the key was removed (all its states cleared or expired)
    /// i32         -1 (end)
    /// </code>
    /// The state list is checked against the restoring operator's declared states before any key is
    /// loaded, so a snapshot of another operator or of changed states fails with what differs.
    /// Checksums and compression belong to the file that carries this stream (checkpoint state files).
    /// </remarks>
    public static class KeyedStateSnapshot
    {
        /// <summary>Whether a stream holds every key or the changes since the previous stream of a chain.</summary>
        internal enum SnapshotContent : byte
        {
            /// <summary>Every key with state, each once.</summary>
            Full = 0,

            /// <summary>Changed and removed keys since the previous stream of the chain.</summary>
            Delta = 1,
        }

        // Version 2 added the content byte and removal entries (incremental checkpoints).
        private const ushort CurrentVersion = 2;
        private const int EndMarker = -1;
        private static ReadOnlySpan<byte> Magic => "WEIRKEYS"u8;

        /// <summary>Writes every key with state in <paramref name="range"/>; returns the number of keys written.</summary>
        public static long Write<TKey>(KeyedStateTable<TKey> table, KeyGroupRange range, Stream output)
            where TKey : notnull
        {
            WriteHeader(table.Columns, SnapshotContent.Full, output);
            var slot = new SlotWriter();
            var entry = new SlotWriter();
            long written = 0;
            table.ForEachKey(range, (keyGroup, key) =>
            {
                if (!table.WriteSlot(table.CurrentSlot, slot))
                {
                    return;
                }

                entry.Reset();
                entry.WriteInt32(keyGroup);
                entry.WriteFramed(table.KeySerializer, in key);
                entry.WriteInt32(slot.Length);
                output.Write(entry.WrittenSpan);
                output.Write(slot.WrittenSpan);
                written++;
            });

            WriteEnd(output);
            return written;
        }

        /// <summary>
        /// Writes the stream's header: magic, version, content and the state list (every state of the
        /// operator, or the one state of a savepoint's per-state file).
        /// </summary>
        internal static void WriteHeader(IReadOnlyList<StateColumn> columns, SnapshotContent content, Stream output)
        {
            var header = new SlotWriter();
            header.Write(Magic);
            header.WriteUInt16(CurrentVersion);
            header.WriteByte((byte)content);
            header.WriteUInt16((ushort)columns.Count);
            foreach (StateColumn column in columns)
            {
                WriteText(header, column.Name);
                header.WriteByte((byte)column.Descriptor.Kind);
                WriteText(header, column.Descriptor.TypeName);
            }

            output.Write(header.WrittenSpan);
        }

        /// <summary>Writes the end marker after the last entry.</summary>
        internal static void WriteEnd(Stream output)
        {
            Span<byte> end = stackalloc byte[sizeof(int)];
            BinaryPrimitives.WriteInt32LittleEndian(end, EndMarker);
            output.Write(end);
        }

        /// <summary>
        /// Restores the keys of <paramref name="input"/> whose key group belongs to <paramref name="table"/>
        /// (the others belong to other subtasks); returns the number of keys restored.
        /// </summary>
        /// <exception cref="StateSnapshotException">The stream is truncated or corrupt, or holds other states than the operator declares.</exception>
        public static long Restore<TKey>(KeyedStateTable<TKey> table, Stream input)
            where TKey : notnull
            => Restore(table, input, checkpointFile: null);

        /// <summary>
        /// Restores a full stream or applies a delta stream (see the remarks of the class) to
        /// <paramref name="table"/>, keeping only the keys of its key-group range. A stream read from
        /// a checkpoint file names it: damage is then reported as a <see cref="CheckpointCorruptException"/>
        /// of that file.
        /// </summary>
        /// <exception cref="StateSnapshotException">The stream holds other states than the operator declares (or, without a file, it is damaged).</exception>
        /// <exception cref="CheckpointCorruptException">The checkpoint file's stream is truncated or corrupt.</exception>
        internal static long Restore<TKey>(KeyedStateTable<TKey> table, Stream input, string? checkpointFile)
            where TKey : notnull
        {
            StreamReaderState reader = OpenStream(input, table.OperatorId, checkpointFile);

            var content = (SnapshotContent)reader.ReadByte();
            if (content is not (SnapshotContent.Full or SnapshotContent.Delta))
            {
                throw reader.Fail($"its content byte is {(byte)content}, neither full (0) nor delta (1)");
            }

            CheckStates(table, reader);
            long restored = 0;
            while (NextEntryInRange(table, reader, out int keyGroup, out byte[] keyBytes, out byte[] slotBytes))
            {
                if (slotBytes.Length == 0 && content == SnapshotContent.Full)
                {
                    throw reader.Fail($"a key of key group {keyGroup} has no state bytes, which only a delta may hold");
                }

                TKey key = ReadKey(table, reader, keyGroup, keyBytes);

                try
                {
                    if (content == SnapshotContent.Full)
                    {
                        table.RestoreKey(keyGroup, in key, slotBytes);
                    }
                    else
                    {
                        table.ReplaceKey(keyGroup, in key, slotBytes);
                    }
                }
                catch (StateSnapshotException exception) when (checkpointFile is not null)
                {
                    throw reader.Fail($"the state of a key of key group {keyGroup} cannot be loaded: {exception.Message}", exception);
                }

                restored++;
            }

            return restored;
        }

        /// <summary>
        /// Restores one state of a savepoint's per-state file (a full stream whose header lists just
        /// <paramref name="stateName"/>) into <paramref name="table"/>, keeping the keys of its key-group
        /// range. A key may already hold other states (from the other states' files): this one is added.
        /// </summary>
        /// <exception cref="StateSnapshotException">The operator declares no such state, or declares it with another kind or type.</exception>
        /// <exception cref="CheckpointCorruptException">The file is truncated or corrupt, or holds another state than its metadata says.</exception>
        internal static long RestoreState<TKey>(KeyedStateTable<TKey> table, Stream input, string checkpointFile, string stateName)
            where TKey : notnull
        {
            StreamReaderState reader = OpenStream(input, table.OperatorId, checkpointFile);

            if ((SnapshotContent)reader.ReadByte() != SnapshotContent.Full)
            {
                throw reader.Fail("a savepoint's state file must hold a full snapshot, not a delta");
            }

            int count = reader.ReadUInt16();
            string name = count == 1 ? reader.ReadText() : string.Empty;
            if (count != 1 || name != stateName)
            {
                throw reader.Fail($"the metadata says it holds state '{stateName}', but its header lists {(count == 1 ? $"state '{name}'" : $"{count} states")}", kind: CheckpointCorruption.InvalidMetadata);
            }

            var kind = (KeyedStateKind)reader.ReadByte();
            string type = reader.ReadText();
            StateColumn column = FindColumn(table, stateName)
                ?? throw new StateSnapshotException(stateName, $"Cannot restore keyed state '{stateName}' of operator '{table.OperatorId}': the operator no longer declares it.");
            if (kind != column.Descriptor.Kind || type != column.Descriptor.TypeName)
            {
                throw new StateSnapshotException(stateName,
                    $"Cannot restore the keyed state of operator '{table.OperatorId}': state '{stateName}' is {kind} {type} in the snapshot but {column.Descriptor.Kind} {column.Descriptor.TypeName} in the operator. Restore it into the job that wrote it.");
            }

            var scratch = new SlotWriter();
            long restored = 0;
            while (NextEntryInRange(table, reader, out int keyGroup, out byte[] keyBytes, out byte[] slotBytes))
            {
                TKey key = ReadKey(table, reader, keyGroup, keyBytes);

                try
                {
                    table.RestoreKeyState(keyGroup, in key, column, slotBytes, scratch);
                }
                catch (StateSnapshotException exception)
                {
                    throw reader.Fail($"state '{stateName}' of a key of key group {keyGroup} cannot be loaded: {exception.Message}", exception);
                }

                restored++;
            }

            return restored;
        }

        /// <summary>Opens a keyed snapshot stream: its magic and format version, checked.</summary>
        private static StreamReaderState OpenStream(Stream input, string operatorId, string? checkpointFile)
        {
            var reader = new StreamReaderState(input, operatorId, checkpointFile);
            reader.ExpectMagic(Magic);
            ushort version = reader.ReadUInt16();
            if (version != CurrentVersion)
            {
                throw reader.Fail($"it has format version {version}; this build of Weir reads version {CurrentVersion}", kind: CheckpointCorruption.UnknownVersion);
            }

            return reader;
        }

        /// <summary>
        /// Reads the next entry whose key group is in <paramref name="table"/>'s range (a restore at
        /// another parallelism skips the others); false at the end of the stream.
        /// </summary>
        private static bool NextEntryInRange<TKey>(KeyedStateTable<TKey> table, StreamReaderState reader, out int keyGroup, out byte[] keyBytes, out byte[] slotBytes)
            where TKey : notnull
        {
            while (true)
            {
                keyGroup = reader.ReadInt32();
                if (keyGroup == EndMarker)
                {
                    keyBytes = slotBytes = Array.Empty<byte>();
                    return false;
                }

                keyBytes = reader.ReadFramed();
                slotBytes = reader.ReadFramed();
                if (table.KeyGroups.Contains(keyGroup))
                {
                    return true;
                }
            }
        }

        private static TKey ReadKey<TKey>(KeyedStateTable<TKey> table, StreamReaderState reader, int keyGroup, byte[] keyBytes)
            where TKey : notnull
        {
            try
            {
                return table.KeySerializer.Deserialize(keyBytes);
            }
            catch (Exception exception)
            {
                throw reader.Fail($"a key of key group {keyGroup} cannot be read as {TypeNames.Display(typeof(TKey))}: {exception.Message}", exception);
            }
        }

        /// <summary>The declared state named <paramref name="stateName"/>, or null.</summary>
        internal static StateColumn? FindColumn(KeyedStateStore store, string stateName)
        {
            foreach (StateColumn column in store.Columns)
            {
                if (column.Name == stateName)
                {
                    return column;
                }
            }

            return null;
        }

        private static void CheckStates<TKey>(KeyedStateTable<TKey> table, StreamReaderState reader)
            where TKey : notnull
        {
            int count = reader.ReadUInt16();
            var stored = new List<(string Name, KeyedStateKind Kind, string Type)>(count);
            for (int i = 0; i < count; i++)
            {
                string name = reader.ReadText();
                var kind = (KeyedStateKind)reader.ReadByte();
                string type = reader.ReadText();
                stored.Add((name, kind, type));
            }

            IReadOnlyList<StateColumn> declared = table.Columns;
            for (int i = 0; i < Math.Max(stored.Count, declared.Count); i++)
            {
                string? problem = i >= stored.Count ? $"the operator declares state '{declared[i].Name}', which the snapshot does not hold"
                    : i >= declared.Count ? $"the snapshot holds state '{stored[i].Name}', which the operator does not declare"
                    : stored[i].Name != declared[i].Name ? $"state {i + 1} is '{stored[i].Name}' in the snapshot but '{declared[i].Name}' in the operator"
                    : stored[i].Kind != declared[i].Descriptor.Kind || stored[i].Type != declared[i].Descriptor.TypeName
                        ? $"state '{stored[i].Name}' is {stored[i].Kind} {stored[i].Type} in the snapshot but {declared[i].Descriptor.Kind} {declared[i].Descriptor.TypeName} in the operator"
                        : null;
                if (problem is not null)
                {
                    throw new StateSnapshotException(i < declared.Count ? declared[i].Name : stored[i].Name,
                        $"Cannot restore the keyed state of operator '{table.OperatorId}': {problem}. Restore it into the job that wrote it.");
                }
            }
        }

        private static void WriteText(SlotWriter writer, string text)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(text);
            writer.WriteUInt16((ushort)bytes.Length);
            writer.Write(bytes);
        }

        /// <summary>Reads the snapshot stream, turning truncation into a <see cref="StateSnapshotException"/>.</summary>
        private sealed class StreamReaderState
        {
            private readonly Stream _input;
            private readonly string _operatorId;
            private readonly string? _checkpointFile;
            private readonly byte[] _scratch = new byte[8];

            public StreamReaderState(Stream input, string operatorId, string? checkpointFile)
            {
                _input = input;
                _operatorId = operatorId;
                _checkpointFile = checkpointFile;
            }

            public void ExpectMagic(ReadOnlySpan<byte> magic)
            {
                Span<byte> read = stackalloc byte[magic.Length];
                Fill(read, "its header");
                if (!read.SequenceEqual(magic))
                {
                    throw Fail("it does not start with WEIRKEYS (it is not a keyed state snapshot)", kind: CheckpointCorruption.WrongMagic);
                }
            }

            public byte ReadByte()
            {
                Fill(_scratch.AsSpan(0, 1), "a state kind");
                return _scratch[0];
            }

            public ushort ReadUInt16()
            {
                Fill(_scratch.AsSpan(0, sizeof(ushort)), "a count");
                return BinaryPrimitives.ReadUInt16LittleEndian(_scratch);
            }

            public int ReadInt32()
            {
                Fill(_scratch.AsSpan(0, sizeof(int)), "a key group or length");
                return BinaryPrimitives.ReadInt32LittleEndian(_scratch);
            }

            public string ReadText()
            {
                byte[] bytes = new byte[ReadUInt16()];
                Fill(bytes, "a state's name or type");
                return Encoding.UTF8.GetString(bytes);
            }

            public byte[] ReadFramed()
            {
                int length = ReadInt32();
                if (length < 0 || length > Array.MaxLength)
                {
                    throw Fail($"a length is negative or too large ({length})");
                }

                byte[] bytes = new byte[length];
                Fill(bytes, "a key or its state");
                return bytes;
            }

            /// <summary>The error for a damaged stream: of the checkpoint file when there is one (so recovery can fall back), else of the snapshot.</summary>
            public Exception Fail(string problem, Exception? inner = null, CheckpointCorruption kind = CheckpointCorruption.LengthMismatch)
                => _checkpointFile is null
                    ? new StateSnapshotException("(all states)", $"Cannot restore the keyed state of operator '{_operatorId}': the snapshot is corrupt: {problem}.", inner)
                    : new CheckpointCorruptException(_checkpointFile, kind, $"the keyed state of operator '{_operatorId}' in it cannot be read: {problem}", inner);

            private void Fill(Span<byte> buffer, string what)
            {
                int read = _input.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
                if (read < buffer.Length)
                {
                    throw Fail($"it is truncated: {what} needs {buffer.Length} bytes, {read} remain", kind: CheckpointCorruption.Truncated);
                }
            }
        }
    }
}
