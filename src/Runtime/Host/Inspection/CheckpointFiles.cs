using System;
using System.Globalization;
using System.IO;
using System.Text.Json;
using Weir.Checkpointing.Storage;

namespace Weir.Hosting.Inspection
{
    /// <summary>
    /// A problem with what the user pointed an inspection command at (no checkpoints there, not a
    /// checkpoint directory, a corrupt file): the message says what and where, so it can be acted on.
    /// </summary>
    public sealed class InspectionException : Exception
    {
        /// <summary>Creates the exception with the message shown to the user.</summary>
        public InspectionException(string message, Exception? innerException = null)
            : base(message, innerException)
        {
        }
    }

    /// <summary>
    /// Reads checkpoint metadata and state files for the read-only commands. Unlike
    /// <see cref="CheckpointCatalog.Open"/>, which cleans up after a crash (it deletes incomplete
    /// checkpoints and unreferenced shared files, which belong to a running job's checkpoint in
    /// flight), nothing here writes or deletes: it is safe next to a running job.
    /// </summary>
    internal static class CheckpointFiles
    {
        /// <summary>
        /// Reads and checks a <c>_metadata</c> file whose job and checkpoint are not known in advance
        /// (a checkpoint or savepoint the user names by path).
        /// </summary>
        /// <param name="metadataFile">The file.</param>
        /// <param name="strictLayout">
        /// Whether the files must follow the checkpoint layout (own <c>chk-&lt;id&gt;/</c> or <c>shared/</c>);
        /// a savepoint may lay its files out otherwise.
        /// </param>
        /// <exception cref="CheckpointCorruptException">The file is damaged or does not describe a checkpoint.</exception>
        public static CheckpointMetadata ReadMetadata(string metadataFile, bool strictLayout)
        {
            byte[] content = ReadAllBytes(metadataFile);
            CheckpointMetadata? declared = TryReadDeclared(content);
            try
            {
                // Framing, version and checksum first; then the metadata's own consistency.
                return CheckpointMetadataFormat.Deserialize(content, metadataFile, declared?.JobName ?? string.Empty, declared?.CheckpointId ?? 0);
            }
            catch (CheckpointCorruptException e) when (declared is not null && !strictLayout && e.Problem == CheckpointCorruption.InvalidMetadata)
            {
                // A savepoint's files need not lie in chk-<id>/ or shared/; the framing and checksum verified.
                return declared;
            }
        }

        /// <summary>Reads the metadata of checkpoint <paramref name="checkpointId"/> of <paramref name="jobName"/>.</summary>
        /// <exception cref="CheckpointCorruptException">The file is damaged or describes another checkpoint.</exception>
        public static CheckpointMetadata ReadMetadata(string metadataFile, string jobName, long checkpointId)
            => CheckpointMetadataFormat.Deserialize(ReadAllBytes(metadataFile), metadataFile, jobName, checkpointId);

        /// <summary>Whether <paramref name="directoryName"/> is a checkpoint's directory (<c>chk-&lt;id&gt;</c>).</summary>
        public static bool IsCheckpointDirectory(string directoryName, out long checkpointId)
            => CheckpointLayout.TryParseCheckpointDirectory(directoryName, out checkpointId);

        /// <summary>Formats a byte count for people: 512 B, 1.5 KiB, 3.2 MiB.</summary>
        public static string FormatBytes(long bytes)
        {
            string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
            double value = bytes;
            int unit = 0;
            while (Math.Abs(value) >= 1024 && unit < units.Length - 1)
            {
                value /= 1024;
                unit++;
            }

            return unit == 0
                ? string.Create(CultureInfo.InvariantCulture, $"{bytes} B")
                : string.Create(CultureInfo.InvariantCulture, $"{value:0.0} {units[unit]}");
        }

        /// <summary>Formats a duration for people: 850µs, 12ms, 1.5s, 2m03s.</summary>
        public static string FormatDuration(TimeSpan duration)
        {
            if (duration < TimeSpan.FromMilliseconds(1))
            {
                return string.Create(CultureInfo.InvariantCulture, $"{duration.TotalMicroseconds:0}µs");
            }

            if (duration < TimeSpan.FromSeconds(1))
            {
                return string.Create(CultureInfo.InvariantCulture, $"{duration.TotalMilliseconds:0}ms");
            }

            return duration < TimeSpan.FromMinutes(1)
                ? string.Create(CultureInfo.InvariantCulture, $"{duration.TotalSeconds:0.0}s")
                : string.Create(CultureInfo.InvariantCulture, $"{(int)duration.TotalMinutes}m{duration.Seconds:00}s");
        }

        private static byte[] ReadAllBytes(string file)
        {
            try
            {
                return File.ReadAllBytes(file);
            }
            catch (FileNotFoundException e)
            {
                throw new CheckpointCorruptException(file, CheckpointCorruption.Missing, "the file does not exist.", e);
            }
            catch (IOException e)
            {
                throw new InspectionException($"Cannot read '{file}': {e.Message}", e);
            }
            catch (UnauthorizedAccessException e)
            {
                throw new InspectionException($"Cannot read '{file}': {e.Message}", e);
            }
        }

        // The job and checkpoint the JSON claims, to check the rest against; null when it does not parse
        // (the strict read then reports why).
        private static CheckpointMetadata? TryReadDeclared(byte[] content)
        {
            int newline = Array.IndexOf(content, (byte)'\n');
            if (newline < 0)
            {
                return null;
            }

            try
            {
                return JsonSerializer.Deserialize(content.AsSpan(newline + 1), CheckpointMetadataJsonContext.Default.CheckpointMetadata);
            }
            catch (JsonException)
            {
                return null;
            }
        }
    }
}
