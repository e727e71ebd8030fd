using System;

namespace Weir.Checkpointing.Storage
{
    /// <summary>What is wrong with a checkpoint file that failed verification.</summary>
    public enum CheckpointCorruption
    {
        /// <summary>The file is shorter than its format or its metadata says.</summary>
        Truncated,

        /// <summary>The file does not start (or end) with the format's magic bytes.</summary>
        WrongMagic,

        /// <summary>The file was written by a format version this build does not read.</summary>
        UnknownVersion,

        /// <summary>The file names a compression codec this build does not know.</summary>
        UnknownCodec,

        /// <summary>The checksum stored in the file (or in the metadata) does not match the bytes.</summary>
        ChecksumMismatch,

        /// <summary>Lengths recorded in the file or the metadata contradict each other or the file.</summary>
        LengthMismatch,

        /// <summary>The compressed body cannot be decoded.</summary>
        UndecodableBody,

        /// <summary>A metadata file is well framed but its content is not a valid checkpoint description.</summary>
        InvalidMetadata,

        /// <summary>A file the metadata refers to does not exist.</summary>
        Missing,
    }

    /// <summary>
    /// A checkpoint file (state file or <c>_metadata</c>) failed verification: truncated, wrong magic,
    /// unknown version or codec, checksum mismatch, or missing. Recovery treats the checkpoint that
    /// contains it as unusable and falls back to the previous complete one.
    /// </summary>
    public sealed class CheckpointCorruptException : Exception
    {
        /// <summary>Creates the exception for the file at <paramref name="path"/>.</summary>
        public CheckpointCorruptException(string path, CheckpointCorruption problem, string detail, Exception? innerException = null)
            : base($"Checkpoint file '{path}' is unusable ({Describe(problem)}): {detail}", innerException)
        {
            FilePath = path;
            Problem = problem;
            Detail = detail;
        }

        /// <summary>The file, as the checkpoint storage names it.</summary>
        public string FilePath { get; }

        /// <summary>What kind of damage was found.</summary>
        public CheckpointCorruption Problem { get; }

        /// <summary>The specific finding (expected and actual values).</summary>
        public string Detail { get; }

        private static string Describe(CheckpointCorruption problem) => problem switch
        {
            CheckpointCorruption.Truncated => "truncated",
            CheckpointCorruption.WrongMagic => "wrong magic",
            CheckpointCorruption.UnknownVersion => "unknown format version",
            CheckpointCorruption.UnknownCodec => "unknown codec",
            CheckpointCorruption.ChecksumMismatch => "checksum mismatch",
            CheckpointCorruption.LengthMismatch => "length mismatch",
            CheckpointCorruption.UndecodableBody => "undecodable body",
            CheckpointCorruption.InvalidMetadata => "invalid metadata",
            CheckpointCorruption.Missing => "missing",
            _ => problem.ToString(),
        };
    }
}
