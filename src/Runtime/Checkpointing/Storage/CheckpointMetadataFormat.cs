using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO.Hashing;
using System.Text;
using System.Text.Json;

namespace Weir.Checkpointing.Storage
{
    /// <summary>
    /// The <c>_metadata</c> file: one text line <c>WEIR-CHECKPOINT-METADATA &lt;version&gt;
    /// &lt;json length&gt; &lt;XXH3-64 of the JSON, 16 hex digits&gt;</c>, a newline, then the JSON
    /// (UTF-8) of <see cref="CheckpointMetadata"/>. The first line makes a truncated or damaged file
    /// detectable; the JSON stays readable (<c>tail -n +2 _metadata | jq</c>).
    /// </summary>
    public static class CheckpointMetadataFormat
    {
        /// <summary>
        /// The newest metadata format version this build reads and writes. Version 2 adds
        /// <see cref="SubtaskStateFile.StateName"/> (per-state keyed files of savepoints): a build
        /// that reads only version 1 would take such a file for all of an operator's keyed state, so
        /// it must refuse the metadata instead. Metadata without per-state files is still written as
        /// version 1 (checkpoints stay readable by older builds).
        /// </summary>
        public const int CurrentVersion = 2;

        /// <summary>The oldest metadata format version this build reads.</summary>
        public const int OldestReadableVersion = 1;

        /// <summary>The version <paramref name="metadata"/> needs: 2 when a file holds one keyed state, else 1.</summary>
        public static int RequiredVersion(CheckpointMetadata metadata)
        {
            ArgumentNullException.ThrowIfNull(metadata);
            foreach (OperatorStateMetadata op in metadata.Operators)
            {
                foreach (SubtaskStateMetadata subtask in op.Subtasks)
                {
                    foreach (SubtaskStateFile file in subtask.Files)
                    {
                        if (file.StateName is not null)
                        {
                            return 2;
                        }
                    }
                }
            }

            return 1;
        }

        private const string Magic = "WEIR-CHECKPOINT-METADATA";
        private const int MaxFirstLineLength = 128;

        /// <summary>Serializes <paramref name="metadata"/> into the bytes of a <c>_metadata</c> file.</summary>
        public static byte[] Serialize(CheckpointMetadata metadata)
        {
            ArgumentNullException.ThrowIfNull(metadata);
            int version = RequiredVersion(metadata);
            byte[] json = JsonSerializer.SerializeToUtf8Bytes(metadata with { FormatVersion = version }, CheckpointMetadataJsonContext.Default.CheckpointMetadata);
            string firstLine = string.Create(
                CultureInfo.InvariantCulture,
                $"{Magic} {version} {json.Length} {XxHash3.HashToUInt64(json):x16}\n");
            byte[] file = new byte[Encoding.ASCII.GetByteCount(firstLine) + json.Length];
            int written = Encoding.ASCII.GetBytes(firstLine, file);
            json.CopyTo(file, written);
            return file;
        }

        /// <summary>
        /// Parses and checks a <c>_metadata</c> file of checkpoint <paramref name="checkpointId"/> of
        /// job <paramref name="jobName"/>; <paramref name="location"/> names it in errors.
        /// </summary>
        /// <exception cref="CheckpointCorruptException">The file is truncated, damaged, of an unknown version, or does not describe that checkpoint.</exception>
        public static CheckpointMetadata Deserialize(ReadOnlySpan<byte> file, string location, string jobName, long checkpointId)
        {
            CheckpointMetadata metadata = DeserializeAny(file, location);
            Validate(metadata, location, jobName, checkpointId);
            return metadata;
        }

        /// <summary>Parses and checks a metadata file without expecting a job or ID (a savepoint found by its path).</summary>
        /// <exception cref="CheckpointCorruptException">The file is damaged or does not describe a checkpoint.</exception>
        public static CheckpointMetadata DeserializeAny(ReadOnlySpan<byte> file, string location)
        {
            int newline = file[..Math.Min(file.Length, MaxFirstLineLength)].IndexOf((byte)'\n');
            if (newline < 0)
            {
                throw Corrupt(
                    location,
                    file.StartsWith("WEIR"u8) || file.Length < Magic.Length ? CheckpointCorruption.Truncated : CheckpointCorruption.WrongMagic,
                    $"the first line '{Printable(file[..Math.Min(file.Length, 40)])}' is not a complete '{Magic} <version> <length> <checksum>' line.");
            }

            string[] fields = Encoding.ASCII.GetString(file[..newline]).Split(' ');
            if (fields.Length == 0 || fields[0] != Magic)
            {
                throw Corrupt(location, CheckpointCorruption.WrongMagic, $"it starts with '{Printable(file[..Math.Min(newline, 40)])}', not '{Magic}'.");
            }

            if (fields.Length < 2 || !int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out int version))
            {
                throw Corrupt(location, CheckpointCorruption.InvalidMetadata, "the first line has no format version.");
            }

            if (version is < OldestReadableVersion or > CurrentVersion)
            {
                throw Corrupt(location, CheckpointCorruption.UnknownVersion, $"metadata format version {version}; this build reads versions {OldestReadableVersion} to {CurrentVersion}.");
            }

            if (fields.Length != 4
                || !int.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out int length)
                || fields[3].Length != 16
                || !ulong.TryParse(fields[3], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong recorded))
            {
                throw Corrupt(location, CheckpointCorruption.InvalidMetadata, "the first line is not '<magic> <version> <length> <16 hex digit checksum>'.");
            }

            ReadOnlySpan<byte> json = file[(newline + 1)..];
            if (json.Length != length)
            {
                throw Corrupt(
                    location,
                    json.Length < length ? CheckpointCorruption.Truncated : CheckpointCorruption.LengthMismatch,
                    $"the JSON is {json.Length} bytes, the first line says {length}.");
            }

            ulong actual = XxHash3.HashToUInt64(json);
            if (actual != recorded)
            {
                throw Corrupt(location, CheckpointCorruption.ChecksumMismatch, $"the JSON hashes to {actual:x16}, the first line records {recorded:x16}.");
            }

            CheckpointMetadata? metadata;
            try
            {
                metadata = JsonSerializer.Deserialize(json, CheckpointMetadataJsonContext.Default.CheckpointMetadata);
            }
            catch (JsonException e)
            {
                throw Corrupt(location, CheckpointCorruption.InvalidMetadata, $"the JSON does not describe a checkpoint: {e.Message}", e);
            }

            if (metadata is null)
            {
                throw Corrupt(location, CheckpointCorruption.InvalidMetadata, "the JSON is null.");
            }

            Validate(metadata, location, metadata.JobName, metadata.CheckpointId);
            return metadata;
        }

        /// <summary>
        /// Checks what JSON alone cannot: the metadata belongs to this job and checkpoint, names each
        /// operator and subtask once, and only refers to files this checkpoint may use.
        /// </summary>
        internal static void Validate(CheckpointMetadata metadata, string location, string jobName, long checkpointId)
        {
            if (metadata.FormatVersion is < OldestReadableVersion or > CurrentVersion)
            {
                throw Corrupt(location, CheckpointCorruption.UnknownVersion, $"the JSON says format version {metadata.FormatVersion}; this build reads versions {OldestReadableVersion} to {CurrentVersion}.");
            }

            if (metadata.FormatVersion < RequiredVersion(metadata))
            {
                throw Corrupt(location, CheckpointCorruption.InvalidMetadata, $"it names the keyed state of single files (stateName), which format version {metadata.FormatVersion} does not have.");
            }

            if (!metadata.Savepoint && (metadata.JobName != jobName || metadata.CheckpointId != checkpointId))
            {
                throw Corrupt(location, CheckpointCorruption.InvalidMetadata, $"it describes checkpoint {metadata.CheckpointId} of job '{metadata.JobName}', but lies where checkpoint {checkpointId} of job '{jobName}' belongs.");
            }

            if (metadata.MaxParallelism <= 0)
            {
                throw Corrupt(location, CheckpointCorruption.InvalidMetadata, $"max parallelism {metadata.MaxParallelism} is not positive.");
            }

            var operators = new HashSet<string>(StringComparer.Ordinal);
            foreach (OperatorStateMetadata op in metadata.Operators)
            {
                if (!operators.Add(op.OperatorId))
                {
                    throw Corrupt(location, CheckpointCorruption.InvalidMetadata, $"operator '{op.OperatorId}' appears twice.");
                }

                var subtasks = new HashSet<int>();
                foreach (SubtaskStateMetadata subtask in op.Subtasks)
                {
                    if (subtask.SubtaskIndex < 0 || subtask.SubtaskIndex >= op.Parallelism || !subtasks.Add(subtask.SubtaskIndex))
                    {
                        throw Corrupt(location, CheckpointCorruption.InvalidMetadata, $"operator '{op.OperatorId}' (parallelism {op.Parallelism}) lists subtask {subtask.SubtaskIndex} twice or out of range.");
                    }

                    foreach (SubtaskStateFile file in subtask.Files)
                    {
                        if (metadata.Savepoint ? !CheckpointLayout.IsValidSavepointFilePath(file.File.Path) : !CheckpointLayout.IsValidStateFilePath(file.File.Path, checkpointId))
                        {
                            throw Corrupt(location, CheckpointCorruption.InvalidMetadata, $"operator '{op.OperatorId}' subtask {subtask.SubtaskIndex} refers to '{file.File.Path}', which is {(metadata.Savepoint ? "not a file inside the savepoint's directory" : $"neither in its own directory nor in '{CheckpointLayout.SharedDirectoryName}/'")}.");
                        }
                    }
                }
            }
        }

        private static CheckpointCorruptException Corrupt(string location, CheckpointCorruption problem, string detail, Exception? cause = null)
            => new(location, problem, detail, cause);

        private static string Printable(ReadOnlySpan<byte> bytes)
        {
            var text = new StringBuilder(bytes.Length);
            foreach (byte b in bytes)
            {
                text.Append(b is >= 0x20 and < 0x7f ? (char)b : '?');
            }

            return text.ToString();
        }
    }
}
