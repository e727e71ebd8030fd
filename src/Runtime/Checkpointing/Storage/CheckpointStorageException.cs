using System;
using System.IO;

namespace Weir.Checkpointing.Storage
{
    /// <summary>
    /// Checkpoint storage could not read, write, rename, list or delete a file (full disk, I/O error,
    /// permissions). The message names the file; the original exception is the inner exception.
    /// </summary>
    public sealed class CheckpointStorageException : IOException
    {
        /// <summary>Creates the exception for the file or directory at <paramref name="path"/>.</summary>
        public CheckpointStorageException(string path, string message, Exception? innerException = null)
            : base(message, innerException)
            => FilePath = path;

        /// <summary>The file or directory the operation failed on, as the storage names it.</summary>
        public string FilePath { get; }
    }
}
