using System;
using System.Collections.Generic;
using System.IO;

namespace Weir.Checkpointing.Storage
{
    /// <summary>
    /// Where checkpoint files live: the seam between checkpointing and a file system or object
    /// store. Paths are relative, use '/' as separator and never contain '.' or '..' segments, so
    /// they mean the same thing on every implementation (an object store uses them as key
    /// prefixes). Implementations must make a committed file appear whole or not at all under its
    /// final name, and surface every I/O failure as a <see cref="CheckpointStorageException"/>
    /// naming the file. One process at a time owns a job's directory.
    /// </summary>
    /// <remarks>
    /// The interface is synchronous, like Flink's <c>FileSystem</c>: checkpoint files are written
    /// by subtask threads and the catalog's bookkeeping thread, both of which may block.
    /// </remarks>
    public interface ICheckpointStorage
    {
        /// <summary>Where <paramref name="path"/> is, for messages and logs (a full path or a URL).</summary>
        string GetLocation(string path);

        /// <summary>
        /// Starts writing a new file at <paramref name="path"/>. Bytes go to a temporary name until
        /// <see cref="ICheckpointFileWrite.Commit"/> makes them durable under the final name;
        /// disposing without committing discards them. A file may be committed to a path only once.
        /// </summary>
        ICheckpointFileWrite BeginWrite(string path);

        /// <summary>
        /// Replaces (or creates) the small file at <paramref name="path"/> atomically and durably: a
        /// reader, even after a crash, sees either the previous content or all of
        /// <paramref name="content"/>, never a mix or a partial file.
        /// </summary>
        void PublishAtomically(string path, ReadOnlySpan<byte> content);

        /// <summary>
        /// Opens a committed file for reading. The stream is seekable and knows its length (object
        /// stores: ranged reads), because a state file's footer is read before its body.
        /// </summary>
        /// <exception cref="CheckpointStorageException">The file does not exist or cannot be read.</exception>
        Stream OpenRead(string path);

        /// <summary>Whether a committed file exists at <paramref name="path"/>.</summary>
        bool Exists(string path);

        /// <summary>Names of the committed files directly in <paramref name="directory"/> (empty when it does not exist).</summary>
        IReadOnlyList<string> ListFiles(string directory);

        /// <summary>Names of the directories directly in <paramref name="directory"/> (empty when it does not exist).</summary>
        IReadOnlyList<string> ListDirectories(string directory);

        /// <summary>Deletes the file at <paramref name="path"/>; false when there was none.</summary>
        bool Delete(string path);

        /// <summary>Deletes <paramref name="directory"/> and everything under it; nothing happens when it does not exist.</summary>
        void DeleteDirectory(string directory);

        /// <summary>
        /// Removes the leftovers of writes that were begun and never committed (a crash mid-write)
        /// anywhere under <paramref name="directory"/>, and returns how many were removed. Only safe
        /// while no write is in progress there, i.e. when the owning process starts.
        /// </summary>
        int DeleteAbandonedWrites(string directory);
    }

    /// <summary>
    /// A file being written to checkpoint storage: nothing exists under the final name until
    /// <see cref="Commit"/> returns. Disposing without committing discards what was written.
    /// </summary>
    public interface ICheckpointFileWrite : IDisposable
    {
        /// <summary>The final path, as given to <see cref="ICheckpointStorage.BeginWrite"/>.</summary>
        string Path { get; }

        /// <summary>
        /// The write-only stream receiving the content. I/O failures (a full disk) surface as
        /// <see cref="CheckpointStorageException"/> naming the file.
        /// </summary>
        Stream Stream { get; }

        /// <summary>Makes the content durable and visible under <see cref="Path"/>.</summary>
        void Commit();
    }
}
