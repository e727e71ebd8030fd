using System;
using System.IO;
using System.IO.Hashing;
using ZstdSharp;

namespace Weir.Checkpointing.Storage
{
    /// <summary>
    /// Writes one state file (<see cref="StateFileFormat"/>) as a stream: the state written to
    /// <see cref="Stream"/> is compressed and hashed on the way to storage, so a large state is
    /// never held in memory. Nothing is visible under the final name until <see cref="Commit"/>;
    /// disposing without committing discards the file.
    /// </summary>
    /// <example>
    /// <code>
    /// using StateFileWriter writer = StateFileWriter.Create(storage, "job/chk-7/counts.state");
    /// serializer.Write(writer.Stream, state);
    /// StateFileReference written = writer.Commit();
    /// </code>
    /// </example>
    public sealed class StateFileWriter : IDisposable
    {
        private readonly ICheckpointFileWrite _write;
        private readonly string _referencePath;
        private readonly HashingStream _stored;
        private readonly CompressionStream? _compressor;
        private readonly UncompressedCountingStream _uncompressed;
        private bool _committed;
        private bool _disposed;

        private StateFileWriter(ICheckpointFileWrite write, string referencePath, StateFileCodec codec, int compressionLevel)
        {
            _write = write;
            _referencePath = referencePath;
            _stored = new HashingStream(write.Stream);
            Span<byte> header = stackalloc byte[StateFileFormat.HeaderLength];
            StateFileFormat.WriteHeader(header, codec);
            _stored.Write(header);
            _compressor = codec == StateFileCodec.Zstd ? new CompressionStream(_stored, compressionLevel, leaveOpen: true) : null;
            _uncompressed = new UncompressedCountingStream(_compressor ?? (Stream)_stored);
        }

        /// <summary>
        /// Begins a state file at <paramref name="storagePath"/>; <paramref name="referencePath"/> is
        /// the path the returned <see cref="StateFileReference"/> carries (relative to the job
        /// directory when written for a checkpoint; the storage path when omitted).
        /// </summary>
        public static StateFileWriter Create(
            ICheckpointStorage storage,
            string storagePath,
            string? referencePath = null,
            StateFileCodec codec = StateFileCodec.Zstd,
            int compressionLevel = StateFileFormat.DefaultCompressionLevel)
        {
            ArgumentNullException.ThrowIfNull(storage);
            if (codec is not (StateFileCodec.None or StateFileCodec.Zstd))
            {
                throw new ArgumentOutOfRangeException(nameof(codec), codec, "Unknown state file codec.");
            }

            ICheckpointFileWrite write = storage.BeginWrite(storagePath);
            try
            {
                return new StateFileWriter(write, referencePath ?? storagePath, codec, compressionLevel);
            }
            catch
            {
                write.Dispose();
                throw;
            }
        }

        /// <summary>The write-only stream that takes the uncompressed state.</summary>
        public Stream Stream => _uncompressed;

        /// <summary>The storage path of the file being written.</summary>
        public string Path => _write.Path;

        /// <summary>
        /// Ends the body, writes the footer and makes the file durable under its final name.
        /// </summary>
        /// <returns>What checkpoint metadata must record to find and verify the file.</returns>
        public StateFileReference Commit()
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_committed)
            {
                throw new InvalidOperationException($"State file '{_write.Path}' is already committed.");
            }

            // Disposing the compressor writes the end of the zstd frame; the file stream stays open.
            _compressor?.Dispose();
            long bodyLength = _stored.BytesWritten - StateFileFormat.HeaderLength;
            Span<byte> footer = stackalloc byte[StateFileFormat.FooterLength];
            StateFileFormat.WriteFooterLengths(footer, bodyLength, _uncompressed.BytesWritten);
            _stored.Write(footer[..StateFileFormat.FooterHashedLength]);
            ulong checksum = _stored.Checksum;
            StateFileFormat.WriteFooterEnd(footer, checksum);
            _write.Stream.Write(footer[StateFileFormat.FooterHashedLength..]);
            _write.Commit();
            _committed = true;
            return new StateFileReference(_referencePath, _stored.BytesWritten + StateFileFormat.FooterLength - StateFileFormat.FooterHashedLength, _uncompressed.BytesWritten, checksum);
        }

        /// <summary>Releases the file; discards it unless <see cref="Commit"/> succeeded.</summary>
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
                    _compressor?.Dispose();
                }
                catch (IOException)
                {
                    // Ending the frame writes to storage, which may be what failed; the file is discarded.
                }
            }

            _write.Dispose();
        }

        /// <summary>Counts and hashes the stored bytes on their way to storage.</summary>
        private sealed class HashingStream : WriteOnlyStream
        {
            private readonly Stream _inner;
            private readonly XxHash3 _hash = new();

            public HashingStream(Stream inner) => _inner = inner;

            public long BytesWritten { get; private set; }

            public ulong Checksum => _hash.GetCurrentHashAsUInt64();

            public override void Write(ReadOnlySpan<byte> buffer)
            {
                _inner.Write(buffer);
                _hash.Append(buffer);
                BytesWritten += buffer.Length;
            }

            public override void Flush() => _inner.Flush();
        }

        /// <summary>Counts the uncompressed bytes the caller writes.</summary>
        private sealed class UncompressedCountingStream : WriteOnlyStream
        {
            private readonly Stream _inner;

            public UncompressedCountingStream(Stream inner) => _inner = inner;

            public long BytesWritten { get; private set; }

            public override void Write(ReadOnlySpan<byte> buffer)
            {
                _inner.Write(buffer);
                BytesWritten += buffer.Length;
            }

            // Flushing mid-state would end a zstd block early and cost ratio; Commit flushes everything.
            public override void Flush()
            {
            }
        }
    }

    /// <summary>The boilerplate of a forward-only, write-only stream.</summary>
    internal abstract class WriteOnlyStream : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public abstract override void Write(ReadOnlySpan<byte> buffer);

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void WriteByte(byte value) => Write([value]);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
