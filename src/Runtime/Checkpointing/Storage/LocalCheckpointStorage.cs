using System;
using System.Collections.Generic;
using System.IO;

namespace Weir.Checkpointing.Storage
{
    /// <summary>
    /// Checkpoint storage on the local file system, the embedded default. A write goes to a hidden
    /// temporary file next to its final name (<c>.NAME.GUID.inprogress</c>), is flushed to disk
    /// (fsync), renamed to the final name and then the directory is flushed, so after a crash a file
    /// exists whole under its final name or not at all. Leftover temporary files are removed by
    /// <see cref="DeleteAbandonedWrites"/>.
    /// </summary>
    public sealed class LocalCheckpointStorage : ICheckpointStorage
    {
        private const string TemporarySuffix = ".inprogress";

        /// <summary>Creates storage rooted at <paramref name="rootDirectory"/> (created on first write).</summary>
        public LocalCheckpointStorage(string rootDirectory)
        {
            ArgumentException.ThrowIfNullOrEmpty(rootDirectory);
            RootDirectory = System.IO.Path.GetFullPath(rootDirectory);
        }

        /// <summary>The absolute directory all paths are relative to.</summary>
        public string RootDirectory { get; }

        /// <inheritdoc/>
        public string GetLocation(string path) => Resolve(path);

        /// <inheritdoc/>
        public ICheckpointFileWrite BeginWrite(string path)
        {
            string finalPath = Resolve(path);
            string directory = System.IO.Path.GetDirectoryName(finalPath)!;
            string temporaryPath = TemporaryPathFor(finalPath);
            try
            {
                EnsureDirectory(directory);
                var file = new FileStream(temporaryPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16);
                return new LocalFileWrite(path, finalPath, temporaryPath, file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                TryDeleteFile(temporaryPath);
                throw new CheckpointStorageException(finalPath, $"Cannot create checkpoint file '{finalPath}': {e.Message}", e);
            }
        }

        /// <inheritdoc/>
        public void PublishAtomically(string path, ReadOnlySpan<byte> content)
        {
            string finalPath = Resolve(path);
            string directory = System.IO.Path.GetDirectoryName(finalPath)!;
            string temporaryPath = TemporaryPathFor(finalPath);
            try
            {
                EnsureDirectory(directory);
                using (var file = new FileStream(temporaryPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1))
                {
                    file.Write(content);
                    file.Flush(flushToDisk: true);
                }

                // rename(2) replaces the old file atomically: readers see the old or the new content.
                File.Move(temporaryPath, finalPath, overwrite: true);
                DirectoryDurability.Flush(directory);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                TryDeleteFile(temporaryPath);
                throw new CheckpointStorageException(finalPath, $"Cannot publish checkpoint file '{finalPath}': {e.Message}", e);
            }
        }

        /// <inheritdoc/>
        public Stream OpenRead(string path)
        {
            string fullPath = Resolve(path);
            try
            {
                return new FileStream(fullPath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CheckpointStorageException(fullPath, $"Cannot read checkpoint file '{fullPath}': {e.Message}", e);
            }
        }

        /// <inheritdoc/>
        public bool Exists(string path) => File.Exists(Resolve(path));

        /// <inheritdoc/>
        public IReadOnlyList<string> ListFiles(string directory)
        {
            string fullPath = ResolveDirectory(directory);
            var names = new List<string>();
            try
            {
                if (Directory.Exists(fullPath))
                {
                    foreach (string file in Directory.EnumerateFiles(fullPath))
                    {
                        string name = System.IO.Path.GetFileName(file);
                        if (!IsTemporaryName(name))
                        {
                            names.Add(name);
                        }
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CheckpointStorageException(fullPath, $"Cannot list checkpoint directory '{fullPath}': {e.Message}", e);
            }

            names.Sort(StringComparer.Ordinal);
            return names;
        }

        /// <inheritdoc/>
        public IReadOnlyList<string> ListDirectories(string directory)
        {
            string fullPath = ResolveDirectory(directory);
            var names = new List<string>();
            try
            {
                if (Directory.Exists(fullPath))
                {
                    foreach (string child in Directory.EnumerateDirectories(fullPath))
                    {
                        names.Add(System.IO.Path.GetFileName(child));
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CheckpointStorageException(fullPath, $"Cannot list checkpoint directory '{fullPath}': {e.Message}", e);
            }

            names.Sort(StringComparer.Ordinal);
            return names;
        }

        /// <inheritdoc/>
        public bool Delete(string path)
        {
            string fullPath = Resolve(path);
            try
            {
                if (!File.Exists(fullPath))
                {
                    return false;
                }

                File.Delete(fullPath);
                return true;
            }
            catch (DirectoryNotFoundException)
            {
                return false;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CheckpointStorageException(fullPath, $"Cannot delete checkpoint file '{fullPath}': {e.Message}", e);
            }
        }

        /// <inheritdoc/>
        public void DeleteDirectory(string directory)
        {
            string fullPath = ResolveDirectory(directory);
            try
            {
                Directory.Delete(fullPath, recursive: true);
            }
            catch (DirectoryNotFoundException)
            {
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CheckpointStorageException(fullPath, $"Cannot delete checkpoint directory '{fullPath}': {e.Message}", e);
            }
        }

        /// <inheritdoc/>
        public int DeleteAbandonedWrites(string directory)
        {
            string fullPath = ResolveDirectory(directory);
            if (!Directory.Exists(fullPath))
            {
                return 0;
            }

            int deleted = 0;
            try
            {
                foreach (string file in Directory.EnumerateFiles(fullPath, "*" + TemporarySuffix, SearchOption.AllDirectories))
                {
                    if (IsTemporaryName(System.IO.Path.GetFileName(file)))
                    {
                        File.Delete(file);
                        deleted++;
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CheckpointStorageException(fullPath, $"Cannot remove abandoned writes under '{fullPath}': {e.Message}", e);
            }

            return deleted;
        }

        private static bool IsTemporaryName(string name) => name.StartsWith('.') && name.EndsWith(TemporarySuffix, StringComparison.Ordinal);

        // Same directory as the final file, so the rename never crosses file systems and stays atomic.
        private static string TemporaryPathFor(string finalPath)
            => System.IO.Path.Combine(
                System.IO.Path.GetDirectoryName(finalPath)!,
                "." + System.IO.Path.GetFileName(finalPath) + "." + Guid.NewGuid().ToString("N") + TemporarySuffix);

        // A directory created for a checkpoint must survive a crash like the files in it, so the
        // parent of every directory created here is flushed.
        private static void EnsureDirectory(string directory)
        {
            if (Directory.Exists(directory))
            {
                return;
            }

            string? parent = System.IO.Path.GetDirectoryName(directory);
            if (parent is not null)
            {
                EnsureDirectory(parent);
            }

            Directory.CreateDirectory(directory);
            if (parent is not null)
            {
                DirectoryDurability.Flush(parent);
            }
        }

        private static void TryDeleteFile(string path)
        {
            try
            {
                File.Delete(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The original failure matters more; the leftover is removed by DeleteAbandonedWrites.
            }
        }

        private string ResolveDirectory(string directory) => directory.Length == 0 ? RootDirectory : Resolve(directory);

        private string Resolve(string path)
        {
            ArgumentNullException.ThrowIfNull(path);
            if (path.Length == 0 || path[0] == '/' || path.Contains('\\') || System.IO.Path.IsPathRooted(path))
            {
                throw new ArgumentException($"Checkpoint storage path '{path}' must be relative and use '/' as separator.", nameof(path));
            }

            foreach (string segment in path.Split('/'))
            {
                if (segment.Length == 0 || segment == "." || segment == "..")
                {
                    throw new ArgumentException($"Checkpoint storage path '{path}' has an empty, '.' or '..' segment.", nameof(path));
                }
            }

            return System.IO.Path.Combine(RootDirectory, path.Replace('/', System.IO.Path.DirectorySeparatorChar));
        }

        private sealed class LocalFileWrite : ICheckpointFileWrite
        {
            private readonly string _finalPath;
            private readonly string _temporaryPath;
            private readonly FileStream _file;
            private readonly FailureNamingStream _stream;
            private bool _committed;
            private bool _disposed;

            public LocalFileWrite(string path, string finalPath, string temporaryPath, FileStream file)
            {
                Path = path;
                _finalPath = finalPath;
                _temporaryPath = temporaryPath;
                _file = file;
                _stream = new FailureNamingStream(file, finalPath);
            }

            public string Path { get; }

            public Stream Stream => _stream;

            public void Commit()
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (_committed)
                {
                    throw new InvalidOperationException($"Checkpoint file '{_finalPath}' is already committed.");
                }

                try
                {
                    _file.Flush(flushToDisk: true);
                    _file.Dispose();
                    // No overwrite: a final name is written once, because an older checkpoint may
                    // still refer to a file of that name.
                    File.Move(_temporaryPath, _finalPath, overwrite: false);
                    DirectoryDurability.Flush(System.IO.Path.GetDirectoryName(_finalPath)!);
                    _committed = true;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    Dispose();
                    throw new CheckpointStorageException(_finalPath, $"Cannot commit checkpoint file '{_finalPath}': {e.Message}", e);
                }
            }

            public void Dispose()
            {
                if (_disposed)
                {
                    return;
                }

                _disposed = true;
                if (!_committed)
                {
                    try
                    {
                        _file.Dispose();
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                    {
                        // Disposing flushes buffered bytes, which fails again on a full disk; the
                        // content is being discarded anyway.
                    }

                    TryDeleteFile(_temporaryPath);
                }
            }
        }

        /// <summary>Turns I/O failures while writing into exceptions that name the checkpoint file.</summary>
        private sealed class FailureNamingStream : Stream
        {
            private readonly Stream _inner;
            private readonly string _finalPath;

            public FailureNamingStream(Stream inner, string finalPath)
            {
                _inner = inner;
                _finalPath = finalPath;
            }

            public override bool CanRead => false;

            public override bool CanSeek => false;

            public override bool CanWrite => true;

            public override long Length => throw new NotSupportedException();

            public override long Position
            {
                get => _inner.Position;
                set => throw new NotSupportedException();
            }

            public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

            public override void Write(ReadOnlySpan<byte> buffer)
            {
                try
                {
                    _inner.Write(buffer);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw Failure(e);
                }
            }

            public override void WriteByte(byte value) => Write([value]);

            public override void Flush()
            {
                try
                {
                    _inner.Flush();
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw Failure(e);
                }
            }

            public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

            public override void SetLength(long value) => throw new NotSupportedException();

            private CheckpointStorageException Failure(Exception e)
                => new(_finalPath, $"Cannot write checkpoint file '{_finalPath}': {e.Message}", e);
        }
    }
}
