using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using Weir.Checkpointing.Storage;
using Weir.State;

namespace Weir.Hosting.Inspection
{
    /// <summary>A keyed state as a keyed state file's header declares it.</summary>
    internal sealed record KeyedStateColumn(string Name, string Kind, string Type);

    /// <summary>One state file of a subtask: its name, what it holds, where it is and its sizes.</summary>
    internal sealed record StatePieceSummary(string Name, string Kind, string Path, long StoredBytes, long UncompressedBytes, string? State = null);

    /// <summary>One operator subtask's state: key groups, files, and for keyed state its states and number of keys.</summary>
    internal sealed record SubtaskSummary(int SubtaskIndex, int[]? KeyGroups, IReadOnlyList<StatePieceSummary> Pieces, IReadOnlyList<KeyedStateColumn>? KeyedStates, long? Keys, string? Problem);

    /// <summary>One operator's state in a checkpoint.</summary>
    internal sealed record OperatorSummary(string OperatorId, int Parallelism, IReadOnlyList<SubtaskSummary> Subtasks);

    /// <summary>What <c>inspect</c> prints without <c>--operator</c>.</summary>
    internal sealed record StateSummary(string Path, string Layout, string Job, long CheckpointId, DateTimeOffset TriggerTime, DateTimeOffset CompletionTime, int MaxParallelism, IReadOnlyList<OperatorSummary> Operators);

    /// <summary>
    /// The read side of a State Processor API: opens a checkpoint (or a savepoint: any directory with
    /// a <c>_metadata</c>) without the job's types and reports what it holds, down to each key's
    /// state values where they can be decoded generically (<see cref="StateValueDecoder"/>). Read-only.
    /// </summary>
    internal sealed class StateInspector
    {
        private const string KeyedPiece = "keyed";
        private readonly LocalCheckpointStorage _jobDirectory;
        private readonly LocalCheckpointStorage _ownDirectory;

        private StateInspector(string metadataFile, string directory, bool isCheckpoint, CheckpointMetadata metadata)
        {
            MetadataFile = metadataFile;
            IsCheckpoint = isCheckpoint;
            Metadata = metadata;
            _ownDirectory = new LocalCheckpointStorage(directory);
            _jobDirectory = new LocalCheckpointStorage(Path.GetDirectoryName(directory) ?? directory);
        }

        /// <summary>The <c>_metadata</c> file read.</summary>
        public string MetadataFile { get; }

        /// <summary>Whether the directory is a checkpoint's (<c>chk-&lt;id&gt;</c>) rather than a savepoint's.</summary>
        public bool IsCheckpoint { get; }

        /// <summary>The checkpoint's metadata.</summary>
        public CheckpointMetadata Metadata { get; }

        /// <summary>
        /// Opens <paramref name="path"/>: a checkpoint directory (<c>.../chk-&lt;id&gt;</c>), its
        /// <c>_metadata</c>, or a savepoint directory with a <c>_metadata</c>.
        /// </summary>
        /// <exception cref="InspectionException">The path is not such a directory or file.</exception>
        /// <exception cref="CheckpointCorruptException">The metadata is damaged.</exception>
        public static StateInspector Open(string path)
        {
            string full = Path.GetFullPath(path);
            string directory;
            if (File.Exists(full))
            {
                if (Path.GetFileName(full) != CheckpointLayout.MetadataFileName)
                {
                    throw new InspectionException($"'{full}' is a file but not a checkpoint's {CheckpointLayout.MetadataFileName}: give a checkpoint directory (.../chk-<id>), a savepoint directory or its {CheckpointLayout.MetadataFileName}.");
                }

                directory = Path.GetDirectoryName(full)!;
            }
            else if (Directory.Exists(full))
            {
                directory = Path.TrimEndingDirectorySeparator(full);
            }
            else
            {
                throw new InspectionException($"'{full}' does not exist: give a checkpoint directory (.../chk-<id>), a savepoint directory or its {CheckpointLayout.MetadataFileName}.");
            }

            string metadataFile = Path.Combine(directory, CheckpointLayout.MetadataFileName);
            if (!File.Exists(metadataFile))
            {
                throw new InspectionException(
                    $"'{directory}' has no {CheckpointLayout.MetadataFileName}: it is not a completed checkpoint or a savepoint" +
                    (CheckpointFiles.IsCheckpointDirectory(Path.GetFileName(directory), out _) ? " (this checkpoint never completed, or is still being written)." : ". A job's checkpoints are its chk-<id> directories; the 'checkpoints' command lists them."));
            }

            bool isCheckpoint = CheckpointFiles.IsCheckpointDirectory(Path.GetFileName(directory), out _);
            return new StateInspector(metadataFile, directory, isCheckpoint, CheckpointFiles.ReadMetadata(metadataFile, strictLayout: isCheckpoint));
        }

        /// <summary>Operators, subtasks, files, keyed states and key counts; problems found are recorded per subtask.</summary>
        public StateSummary Summarize()
        {
            var operators = new List<OperatorSummary>();
            foreach (OperatorStateMetadata op in Metadata.Operators)
            {
                var subtasks = new List<SubtaskSummary>();
                foreach (SubtaskStateMetadata subtask in op.Subtasks)
                {
                    var pieces = subtask.Files.Select(f => new StatePieceSummary(f.Name, KindOf(f), f.File.Path, f.File.StoredLength, f.File.UncompressedLength, f.StateName)).ToList();
                    IReadOnlyList<KeyedStateColumn>? columns = null;
                    long? keys = null;
                    string? problem = null;
                    try
                    {
                        if (subtask.Files.Any(IsKeyed))
                        {
                            KeyedChain chain = ReadKeyedChain(op, subtask);
                            columns = chain.Columns;
                            keys = chain.Entries.Count;
                        }

                        foreach (SubtaskStateFile file in subtask.Files.Where(f => !IsKeyed(f)))
                        {
                            StateFileReader.Verify(StorageOf(file.File.Path), file.File.Path, file.File);
                        }
                    }
                    catch (CheckpointCorruptException e)
                    {
                        problem = e.Message;
                    }

                    int[]? keyGroups = subtask.KeyGroups is { } range ? [range.Start, range.End] : null;
                    subtasks.Add(new SubtaskSummary(subtask.SubtaskIndex, keyGroups, pieces, columns, keys, problem));
                }

                operators.Add(new OperatorSummary(op.OperatorId, op.Parallelism, subtasks));
            }

            return new StateSummary(Path.GetDirectoryName(MetadataFile)!, IsCheckpoint ? "checkpoint" : "savepoint", Metadata.JobName, Metadata.CheckpointId, Metadata.TriggerTime, Metadata.CompletionTime, Metadata.MaxParallelism, operators);
        }

        /// <summary>The summary as indented JSON (source-generated, AOT-safe).</summary>
        public static string ToJson(StateSummary summary) => JsonSerializer.Serialize(summary, InspectionJsonContext.Default.StateSummary);

        /// <summary>The summary for people.</summary>
        public static string ToText(StateSummary summary)
        {
            var text = new StringBuilder();
            text.Append(CultureInfo.InvariantCulture, $"{(summary.Layout == "checkpoint" ? "Checkpoint" : "Savepoint")} {summary.CheckpointId} of job '{summary.Job}' ({summary.Path})").AppendLine();
            text.Append(CultureInfo.InvariantCulture, $"  triggered {summary.TriggerTime.UtcDateTime:yyyy-MM-dd HH:mm:ss.fff} UTC, completed after {CheckpointFiles.FormatDuration(summary.CompletionTime - summary.TriggerTime)}, max parallelism {summary.MaxParallelism}").AppendLine();
            foreach (OperatorSummary op in summary.Operators)
            {
                long stored = op.Subtasks.SelectMany(s => s.Pieces).Sum(p => p.StoredBytes);
                text.Append(CultureInfo.InvariantCulture, $"Operator '{op.OperatorId}': parallelism {op.Parallelism}, {CheckpointFiles.FormatBytes(stored)} stored").AppendLine();
                foreach (SubtaskSummary subtask in op.Subtasks)
                {
                    text.Append(CultureInfo.InvariantCulture, $"  subtask {subtask.SubtaskIndex}");
                    if (subtask.KeyGroups is { } groups)
                    {
                        text.Append(CultureInfo.InvariantCulture, $", key groups {groups[0]}-{groups[1]}");
                    }

                    if (subtask.Keys is long keys)
                    {
                        text.Append(CultureInfo.InvariantCulture, $", {keys} keys");
                    }

                    text.AppendLine();
                    foreach (KeyedStateColumn column in subtask.KeyedStates ?? [])
                    {
                        text.Append(CultureInfo.InvariantCulture, $"    keyed state '{column.Name}': {column.Kind} {column.Type}").AppendLine();
                    }

                    foreach (StatePieceSummary piece in subtask.Pieces)
                    {
                        string kind = piece.State is null ? piece.Kind : $"{piece.Kind} '{piece.State}'";
                        text.Append(CultureInfo.InvariantCulture, $"    {kind,-12} {CheckpointFiles.FormatBytes(piece.StoredBytes),10} stored {CheckpointFiles.FormatBytes(piece.UncompressedBytes),10} uncompressed  {piece.Path}").AppendLine();
                    }

                    if (subtask.Problem is not null)
                    {
                        text.Append(CultureInfo.InvariantCulture, $"    PROBLEM: {subtask.Problem}").AppendLine();
                    }
                }
            }

            return text.ToString();
        }

        /// <summary>
        /// Writes the state of operator <paramref name="operatorId"/> as JSON to <paramref name="output"/>:
        /// per subtask its keys (key group, key, each state's value) and its operator-state entries.
        /// </summary>
        /// <param name="operatorId">The operator.</param>
        /// <param name="stateName">Only this state (a keyed state's name, or an operator state's or piece's name); null for all.</param>
        /// <param name="limit">At most this many keys are printed (over all subtasks); null for all.</param>
        /// <param name="output">Where the JSON goes, written as it is produced.</param>
        /// <exception cref="InspectionException">No such operator or state.</exception>
        /// <exception cref="CheckpointCorruptException">A state file is damaged.</exception>
        public void Dump(string operatorId, string? stateName, long? limit, TextWriter output)
        {
            OperatorStateMetadata op = Metadata.Operators.FirstOrDefault(o => o.OperatorId == operatorId)
                ?? throw new InspectionException($"Checkpoint {Metadata.CheckpointId} of job '{Metadata.JobName}' has no state of operator '{operatorId}'; it has state of: {string.Join(", ", Metadata.Operators.Select(o => "'" + o.OperatorId + "'"))}.");

            // Read everything first, so a missing state or a corrupt file is reported before any output.
            var subtasks = new List<(SubtaskStateMetadata Subtask, KeyedChain? Keyed, List<OperatorStateFile> OperatorStates)>();
            // A savepoint's keyed state is split per state name: one state is read from its own files only.
            bool keyedByState = op.Subtasks.SelectMany(s => s.Files).Any(f => f.StateName is not null);
            bool onlyThatState = keyedByState && stateName is not null && op.Subtasks.SelectMany(s => s.Files).Any(f => f.StateName == stateName);
            foreach (SubtaskStateMetadata subtask in op.Subtasks)
            {
                KeyedChain? keyed = subtask.Files.Any(IsKeyed) ? ReadKeyedChain(op, subtask, onlyThatState ? stateName : null) : null;
                var states = onlyThatState ? [] : subtask.Files.Where(f => !IsKeyed(f)).Select(ReadOperatorStateFile).ToList();
                subtasks.Add((subtask, keyed, states));
            }

            if (stateName is not null)
            {
                var available = subtasks.SelectMany(s => (s.Keyed?.Columns.Select(c => c.Name) ?? []).Concat(s.OperatorStates.SelectMany(f => f.States.Select(st => st.Name)))).Distinct(StringComparer.Ordinal).ToList();
                if (!available.Contains(stateName, StringComparer.Ordinal))
                {
                    throw new InspectionException($"Operator '{operatorId}' has no state '{stateName}' in checkpoint {Metadata.CheckpointId}; its states: {string.Join(", ", available.Select(n => "'" + n + "'"))}.");
                }
            }

            var buffer = new ArrayBufferWriter<byte>();
            using var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
            void Flush()
            {
                json.Flush();
                output.Write(Encoding.UTF8.GetString(buffer.WrittenSpan));
                buffer.ResetWrittenCount();
            }

            json.WriteStartObject();
            json.WriteString("job", Metadata.JobName);
            json.WriteNumber("checkpointId", Metadata.CheckpointId);
            json.WriteString("operatorId", op.OperatorId);
            json.WriteNumber("parallelism", op.Parallelism);
            json.WriteStartArray("subtasks");
            long printed = 0;
            bool truncated = false;
            foreach ((SubtaskStateMetadata subtask, KeyedChain? keyed, List<OperatorStateFile> operatorStates) in subtasks)
            {
                json.WriteStartObject();
                json.WriteNumber("subtask", subtask.SubtaskIndex);
                if (subtask.KeyGroups is { } range)
                {
                    json.WriteStartArray("keyGroups");
                    json.WriteNumberValue(range.Start);
                    json.WriteNumberValue(range.End);
                    json.WriteEndArray();
                }

                if (keyed is not null)
                {
                    WriteKeyed(json, keyed, stateName, limit, ref printed, ref truncated, Flush);
                }

                if (operatorStates.Count > 0)
                {
                    json.WriteStartArray("operatorState");
                    foreach (OperatorStateFile file in operatorStates)
                    {
                        foreach (OperatorStateEntry state in file.States.Where(s => stateName is null || s.Name == stateName || file.Piece == stateName))
                        {
                            WriteOperatorState(json, file, state);
                        }
                    }

                    json.WriteEndArray();
                }

                json.WriteEndObject();
                Flush();
            }

            json.WriteEndArray();
            json.WriteBoolean("truncated", truncated);
            json.WriteEndObject();
            Flush();
            output.WriteLine();
        }

        private static void WriteKeyed(Utf8JsonWriter json, KeyedChain keyed, string? stateName, long? limit, ref long printed, ref bool truncated, Action flush)
        {
            json.WriteNumber("keys", keyed.Entries.Count);
            json.WriteStartArray("keyedStates");
            foreach (KeyedStateColumn column in keyed.Columns)
            {
                json.WriteStartObject();
                json.WriteString("name", column.Name);
                json.WriteString("kind", column.Kind);
                json.WriteString("type", column.Type);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartArray("entries");
            foreach (KeyedEntry entry in keyed.Entries.Values.OrderBy(e => e.KeyGroup).ThenBy(e => StateValueDecoder.DescribeGuessed(e.Key), StringComparer.Ordinal))
            {
                if (limit is long max && printed >= max)
                {
                    truncated = true;
                    break;
                }

                json.WriteStartObject();
                json.WriteNumber("keyGroup", entry.KeyGroup);
                json.WritePropertyName("key");
                StateValueDecoder.WriteGuessed(json, entry.Key);
                WriteSlot(json, keyed.Columns, entry, stateName);
                json.WriteEndObject();
                printed++;
                if (printed % 256 == 0)
                {
                    flush();
                }
            }

            json.WriteEndArray();
        }

        // A key's slot (KeyedSlotFormat): version, expires-at, state count, then each state framed.
        private static void WriteSlot(Utf8JsonWriter json, IReadOnlyList<KeyedStateColumn> columns, KeyedEntry entry, string? stateName)
        {
            ReadOnlySpan<byte> slot = entry.Slot;
            int count = slot.Length >= 11 && slot[0] == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(slot[9..]) : -1;
            if (count != columns.Count)
            {
                json.WriteString("problem", $"the key's state bytes are not {columns.Count} states in slot format version 1 (in '{entry.File}').");
                json.WriteBase64String("stateBase64", slot);
                return;
            }

            long expiresAt = BinaryPrimitives.ReadInt64LittleEndian(slot[1..]);
            if (expiresAt != long.MaxValue && expiresAt > 0)
            {
                json.WriteString("expiresAt", DateTimeOffset.FromUnixTimeMilliseconds(Math.Min(expiresAt, DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())));
            }

            json.WriteStartObject("states");
            int position = 11;
            foreach (KeyedStateColumn column in columns)
            {
                if (StateValueDecoder.Framed(slot, position) is not int length)
                {
                    json.WriteString(column.Name + ".problem", $"truncated state bytes (in '{entry.File}')");
                    break;
                }

                ReadOnlySpan<byte> bytes = slot.Slice(position + sizeof(int), length);
                position += sizeof(int) + length;
                if (length == 0 || (stateName is not null && stateName != column.Name))
                {
                    continue; // Empty for this key (or not asked for).
                }

                json.WritePropertyName(column.Name);
                try
                {
                    StateValueDecoder.WriteKeyedState(json, Enum.Parse<KeyedStateKind>(column.Kind), column.Type, bytes);
                }
                catch (FormatException e)
                {
                    json.WriteStartObject();
                    json.WriteString("type", column.Type);
                    json.WriteBase64String("base64", bytes);
                    json.WriteString("problem", e.Message);
                    json.WriteEndObject();
                }
            }

            json.WriteEndObject();
        }

        private static void WriteOperatorState(Utf8JsonWriter json, OperatorStateFile file, OperatorStateEntry state)
        {
            json.WriteStartObject();
            json.WriteString("piece", file.Piece);
            json.WriteString("name", state.Name);
            ReadOnlySpan<byte> snapshot = state.Snapshot.Span;
            int count = snapshot.Length >= 7 && BinaryPrimitives.ReadUInt16LittleEndian(snapshot) == 1 && snapshot[2] is >= 1 and <= 3
                ? BinaryPrimitives.ReadInt32LittleEndian(snapshot[3..])
                : -1;
            if (count < 0)
            {
                json.WriteString("problem", "not a state snapshot of format version 1.");
                json.WriteBase64String("base64", snapshot);
                json.WriteEndObject();
                return;
            }

            byte kind = snapshot[2];
            json.WriteString("kind", kind switch { 1 => "split list", 2 => "union list", _ => "broadcast map" });
            json.WriteNumber("count", count);
            json.WriteStartArray("entries");
            int position = 7;
            for (int i = 0; i < count; i++)
            {
                int frames = kind == 3 ? 2 : 1;
                var values = new List<ReadOnlyMemory<byte>>(frames);
                for (int f = 0; f < frames; f++)
                {
                    if (StateValueDecoder.Framed(snapshot, position) is not int length)
                    {
                        throw new CheckpointCorruptException(file.Location, CheckpointCorruption.LengthMismatch, $"operator state '{state.Name}' ends inside entry {i} of {count}.");
                    }

                    values.Add(state.Snapshot.Slice(position + sizeof(int), length));
                    position += sizeof(int) + length;
                }

                if (kind == 3)
                {
                    json.WriteStartObject();
                    json.WritePropertyName("key");
                    StateValueDecoder.WriteGuessed(json, values[0].Span);
                    json.WritePropertyName("value");
                    StateValueDecoder.WriteGuessed(json, values[1].Span);
                    json.WriteEndObject();
                }
                else
                {
                    ConnectorStateDecoder.WriteEntry(json, file.Piece, values[0].Span);
                }
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        private static string KindOf(SubtaskStateFile file)
        {
            if (!IsKeyed(file) || file.StateName is not null)
            {
                return file.Name;
            }

            string name = Path.GetFileName(file.File.Path);
            return name.Contains("-keyed.delta-", StringComparison.Ordinal) ? "keyed delta"
                : name.Contains("-keyed.base-", StringComparison.Ordinal) ? "keyed base"
                : "keyed";
        }

        private static bool IsKeyed(SubtaskStateFile file)
            => file.Name == KeyedPiece || file.Name.StartsWith(KeyedPiece + ".", StringComparison.Ordinal);

        // Checkpoint paths are relative to the job directory (the parent of chk-<id>); a savepoint's may
        // be relative to its own directory: whichever holds the file.
        private LocalCheckpointStorage StorageOf(string relativePath)
        {
            if (_jobDirectory.Exists(relativePath))
            {
                return _jobDirectory;
            }

            return _ownDirectory.Exists(relativePath) || !IsCheckpoint ? _ownDirectory : _jobDirectory;
        }

        /// <summary>
        /// The keys of a subtask's keyed state with each key's states: a checkpoint's chain (a base,
        /// then deltas), or a savepoint's files per state merged by key (only <paramref name="onlyState"/>'s, if given).
        /// </summary>
        private KeyedChain ReadKeyedChain(OperatorStateMetadata op, SubtaskStateMetadata subtask, string? onlyState = null)
        {
            if (subtask.Files.Any(f => IsKeyed(f) && f.StateName is not null))
            {
                return ReadKeyedStates(op, subtask, subtask.Files.Where(f => IsKeyed(f) && (onlyState is null || f.StateName == onlyState)).ToList());
            }

            return ReadKeyedFiles(op, subtask);
        }

        private KeyedChain ReadKeyedStates(OperatorStateMetadata op, SubtaskStateMetadata subtask, IReadOnlyList<SubtaskStateFile> files)
        {
            var columns = new List<KeyedStateColumn>(files.Count);
            var keys = new Dictionary<string, (int KeyGroup, byte[] Key, long ExpiresAt, byte[]?[] States, string File)>(StringComparer.Ordinal);
            foreach (SubtaskStateFile file in files)
            {
                LocalCheckpointStorage storage = StorageOf(file.File.Path);
                string location = storage.GetLocation(file.File.Path);
                using Stream stream = StateFileReader.Open(storage, file.File.Path, file.File);
                var reader = new SnapshotStreamReader(stream, location, op.OperatorId);
                IReadOnlyList<KeyedStateColumn> header = reader.ReadHeader(out bool full);
                if (!full || header.Count != 1 || header[0].Name != file.StateName)
                {
                    throw new CheckpointCorruptException(location, CheckpointCorruption.InvalidMetadata,
                        $"the metadata says it holds keyed state '{file.StateName}' of operator '{op.OperatorId}', but its header lists {string.Join(", ", header.Select(c => "'" + c.Name + "'"))}{(full ? "" : " as a delta")}.");
                }

                int column = columns.FindIndex(c => c.Name == file.StateName);
                if (column < 0)
                {
                    column = columns.Count;
                    columns.Add(header[0]);
                }

                while (reader.TryReadEntry(out int keyGroup, out byte[] key, out byte[] slot))
                {
                    // A slot of one state: version, expires-at, count 1, the state framed.
                    if (slot.Length < 15 || slot[0] != 1 || BinaryPrimitives.ReadUInt16LittleEndian(slot.AsSpan(9)) != 1 || StateValueDecoder.Framed(slot, 11) is not int length || 15 + length != slot.Length)
                    {
                        throw new CheckpointCorruptException(location, CheckpointCorruption.LengthMismatch, $"a key of key group {keyGroup} of keyed state '{file.StateName}' of operator '{op.OperatorId}' is not one state in slot format version 1.");
                    }

                    string identity = Convert.ToBase64String(key);
                    if (!keys.TryGetValue(identity, out var entry))
                    {
                        entry = (keyGroup, key, long.MinValue, new byte[]?[files.Count], location);
                    }

                    entry.States[column] = slot[15..];
                    entry.ExpiresAt = Math.Max(entry.ExpiresAt, BinaryPrimitives.ReadInt64LittleEndian(slot.AsSpan(1)));
                    keys[identity] = entry;
                }

                if (stream.Read(new byte[1]) != 0)
                {
                    throw new CheckpointCorruptException(location, CheckpointCorruption.LengthMismatch, $"bytes follow the end marker of keyed state '{file.StateName}' of operator '{op.OperatorId}'.");
                }
            }

            // The dump reads a key's states as one slot of every state, as a checkpoint stores it.
            var entries = new Dictionary<string, KeyedEntry>(keys.Count, StringComparer.Ordinal);
            foreach ((string identity, var key) in keys)
            {
                var slot = new MemoryStream();
                var writer = new BinaryWriter(slot);
                writer.Write((byte)1);
                writer.Write(key.ExpiresAt);
                writer.Write((ushort)columns.Count);
                for (int column = 0; column < columns.Count; column++)
                {
                    byte[] state = key.States[column] ?? [];
                    writer.Write(state.Length);
                    writer.Write(state);
                }

                writer.Flush();
                entries[identity] = new KeyedEntry(key.KeyGroup, key.Key, slot.ToArray(), key.File);
            }

            return new KeyedChain(columns, entries);
        }

        private KeyedChain ReadKeyedFiles(OperatorStateMetadata op, SubtaskStateMetadata subtask)
        {
            var entries = new Dictionary<string, KeyedEntry>(StringComparer.Ordinal);
            IReadOnlyList<KeyedStateColumn> columns = [];
            foreach (SubtaskStateFile file in subtask.Files.Where(IsKeyed))
            {
                LocalCheckpointStorage storage = StorageOf(file.File.Path);
                string location = storage.GetLocation(file.File.Path);
                using Stream stream = StateFileReader.Open(storage, file.File.Path, file.File);
                var reader = new SnapshotStreamReader(stream, location, op.OperatorId);
                columns = reader.ReadHeader(out bool full);
                if (full)
                {
                    entries.Clear();
                }

                while (reader.TryReadEntry(out int keyGroup, out byte[] key, out byte[] slot))
                {
                    if (subtask.KeyGroups is { } range && !range.Contains(keyGroup))
                    {
                        continue; // Another subtask's key (a rescaled restore keeps only its own).
                    }

                    string identity = Convert.ToBase64String(key);
                    if (slot.Length == 0)
                    {
                        entries.Remove(identity);
                    }
                    else
                    {
                        entries[identity] = new KeyedEntry(keyGroup, key, slot, location);
                    }
                }

                // Read to the end, so the state file's checksum is verified.
                if (stream.Read(new byte[1]) != 0)
                {
                    throw new CheckpointCorruptException(location, CheckpointCorruption.LengthMismatch, $"bytes follow the end marker of the keyed state of operator '{op.OperatorId}'.");
                }
            }

            return new KeyedChain(columns, entries);
        }

        private OperatorStateFile ReadOperatorStateFile(SubtaskStateFile file)
        {
            LocalCheckpointStorage storage = StorageOf(file.File.Path);
            string location = storage.GetLocation(file.File.Path);
            byte[] content;
            using (Stream stream = StateFileReader.Open(storage, file.File.Path, file.File))
            using (var copy = new MemoryStream())
            {
                stream.CopyTo(copy);
                content = copy.ToArray();
            }

            // A connector writes one state's snapshot as is (it starts with version 1 and a kind byte);
            // OperatorStateCheckpoint writes a count and each state framed with its name.
            var states = new List<OperatorStateEntry>();
            if (content.Length >= 7 && BinaryPrimitives.ReadUInt16LittleEndian(content) == 1 && content[2] is >= 1 and <= 3)
            {
                states.Add(new OperatorStateEntry(file.Name, content));
                return new OperatorStateFile(file.Name, location, states);
            }

            int count = content.Length >= sizeof(int) ? BinaryPrimitives.ReadInt32LittleEndian(content) : -1;
            int position = sizeof(int);
            for (int i = 0; i < count; i++)
            {
                if (StateValueDecoder.Framed(content, position) is not int nameLength
                    || StateValueDecoder.Framed(content, position + sizeof(int) + nameLength) is not int bytesLength)
                {
                    throw new CheckpointCorruptException(location, CheckpointCorruption.LengthMismatch, $"the operator state ends inside state {i} of {count}.");
                }

                string name = Encoding.UTF8.GetString(content, position + sizeof(int), nameLength);
                position += sizeof(int) + nameLength;
                states.Add(new OperatorStateEntry(name, content.AsMemory(position + sizeof(int), bytesLength)));
                position += sizeof(int) + bytesLength;
            }

            if (count < 0 || position != content.Length)
            {
                throw new CheckpointCorruptException(location, CheckpointCorruption.LengthMismatch, "the file is neither one state snapshot nor a count of named state snapshots.");
            }

            return new OperatorStateFile(file.Name, location, states);
        }

        private sealed record KeyedEntry(int KeyGroup, byte[] Key, byte[] Slot, string File);

        private sealed record KeyedChain(IReadOnlyList<KeyedStateColumn> Columns, Dictionary<string, KeyedEntry> Entries);

        private sealed record OperatorStateEntry(string Name, ReadOnlyMemory<byte> Snapshot);

        private sealed record OperatorStateFile(string Piece, string Location, List<OperatorStateEntry> States);

        /// <summary>Reads a <see cref="KeyedStateSnapshot"/> stream (format 2), naming the file in every error.</summary>
        private sealed class SnapshotStreamReader(Stream input, string location, string operatorId)
        {
            private readonly byte[] _scratch = new byte[8];

            public IReadOnlyList<KeyedStateColumn> ReadHeader(out bool full)
            {
                byte[] magic = new byte[8];
                Fill(magic, "its header");
                if (!magic.AsSpan().SequenceEqual("WEIRKEYS"u8))
                {
                    throw Corrupt("it does not start with WEIRKEYS (it is not a keyed state snapshot)", CheckpointCorruption.WrongMagic);
                }

                ushort version = ReadUInt16();
                if (version != 2)
                {
                    throw Corrupt($"keyed snapshot format version {version}; this build reads version 2", CheckpointCorruption.UnknownVersion);
                }

                byte content = ReadByte();
                if (content > 1)
                {
                    throw Corrupt($"its content byte is {content}, neither full (0) nor delta (1)", CheckpointCorruption.LengthMismatch);
                }

                full = content == 0;
                int count = ReadUInt16();
                var columns = new List<KeyedStateColumn>(count);
                for (int i = 0; i < count; i++)
                {
                    string name = ReadText();
                    var kind = (KeyedStateKind)ReadByte();
                    string type = ReadText();
                    columns.Add(new KeyedStateColumn(name, kind.ToString(), type));
                }

                return columns;
            }

            public bool TryReadEntry(out int keyGroup, out byte[] key, out byte[] slot)
            {
                keyGroup = ReadInt32();
                if (keyGroup == -1)
                {
                    key = slot = [];
                    return false;
                }

                key = ReadFramed();
                slot = ReadFramed();
                return true;
            }

            private byte ReadByte()
            {
                Fill(_scratch.AsSpan(0, 1), "a state kind");
                return _scratch[0];
            }

            private ushort ReadUInt16()
            {
                Fill(_scratch.AsSpan(0, 2), "a count");
                return BinaryPrimitives.ReadUInt16LittleEndian(_scratch);
            }

            private int ReadInt32()
            {
                Fill(_scratch.AsSpan(0, 4), "a key group or length");
                return BinaryPrimitives.ReadInt32LittleEndian(_scratch);
            }

            private string ReadText()
            {
                byte[] bytes = new byte[ReadUInt16()];
                Fill(bytes, "a state's name or type");
                return Encoding.UTF8.GetString(bytes);
            }

            private byte[] ReadFramed()
            {
                int length = ReadInt32();
                if (length < 0)
                {
                    throw Corrupt($"a length is negative ({length})", CheckpointCorruption.LengthMismatch);
                }

                byte[] bytes = new byte[length];
                Fill(bytes, "a key or its state");
                return bytes;
            }

            private void Fill(Span<byte> buffer, string what)
            {
                int read = input.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
                if (read < buffer.Length)
                {
                    throw Corrupt($"it is truncated: {what} needs {buffer.Length} bytes, {read} remain", CheckpointCorruption.Truncated);
                }
            }

            private CheckpointCorruptException Corrupt(string problem, CheckpointCorruption kind)
                => new(location, kind, $"the keyed state of operator '{operatorId}' in it cannot be read: {problem}.");
        }
    }
}
