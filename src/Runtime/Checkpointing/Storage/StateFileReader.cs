using System;
using System.Buffers;
using System.Buffers.Binary;
using System.IO;
using System.IO.Hashing;
using ZstdSharp;

namespace Weir.Checkpointing.Storage
{
    /// <summary>
    /// Reads and verifies state files (<see cref="StateFileFormat"/>). Every problem is a
    /// <see cref="CheckpointCorruptException"/> naming the file: missing, truncated, wrong magic,
    /// unknown version or codec, lengths or checksum not matching the file or the metadata.
    /// </summary>
    public static class StateFileReader
    {
        private const int VerifyBufferLength = 1 << 20;

        /// <summary>
        /// Opens the state in <paramref name="path"/> for reading, decompressed, as a stream. The
        /// frame (magic, version, codec, lengths, and <paramref name="expected"/> when given) is
        /// checked before the stream is returned; the checksum is checked as the last byte of state
        /// is read, so a consumer that reads the state to its end learns of corruption before it
        /// uses the result. Use <see cref="Verify"/> to check a file without decoding it.
        /// </summary>
        public static Stream Open(ICheckpointStorage storage, string path, StateFileReference? expected = null)
        {
            ArgumentNullException.ThrowIfNull(storage);
            string location = storage.GetLocation(path);
            Stream file = OpenFile(storage, path, location);
            try
            {
                Frame frame = ReadFrame(file, location, expected);
                file.Seek(StateFileFormat.HeaderLength, SeekOrigin.Begin);
                return new StateFileReadStream(file, location, frame);
            }
            catch
            {
                file.Dispose();
                throw;
            }
        }

        /// <summary>
        /// Checks the whole file at <paramref name="path"/> (frame and checksum over every stored
        /// byte) without decompressing it, and returns what it found.
        /// </summary>
        /// <exception cref="CheckpointCorruptException">The file is missing, damaged or not what <paramref name="expected"/> says.</exception>
        public static StateFileReference Verify(ICheckpointStorage storage, string path, StateFileReference? expected = null)
        {
            ArgumentNullException.ThrowIfNull(storage);
            string location = storage.GetLocation(path);
            using Stream file = OpenFile(storage, path, location);
            Frame frame = ReadFrame(file, location, expected);
            ulong actual = HashStoredBytes(file, location, frame);
            if (actual != frame.Checksum)
            {
                throw ChecksumMismatch(location, frame.Checksum, actual);
            }

            return new StateFileReference(expected?.Path ?? path, frame.StoredLength, frame.UncompressedLength, frame.Checksum);
        }

        private static Stream OpenFile(ICheckpointStorage storage, string path, string location)
        {
            if (!storage.Exists(path))
            {
                throw new CheckpointCorruptException(location, CheckpointCorruption.Missing, "the file does not exist.");
            }

            Stream file = storage.OpenRead(path);
            if (!file.CanSeek)
            {
                file.Dispose();
                throw new InvalidOperationException($"Checkpoint storage returned a stream that cannot seek for '{location}'; state files are read footer first.");
            }

            return file;
        }

        private static Frame ReadFrame(Stream file, string location, StateFileReference? expected)
        {
            long length = file.Length;
            if (expected is not null && length != expected.StoredLength)
            {
                throw new CheckpointCorruptException(
                    location,
                    length < expected.StoredLength ? CheckpointCorruption.Truncated : CheckpointCorruption.LengthMismatch,
                    $"the file is {length} bytes, the checkpoint metadata says {expected.StoredLength}.");
            }

            const int minimum = StateFileFormat.HeaderLength + StateFileFormat.FooterLength;
            if (length < minimum)
            {
                throw new CheckpointCorruptException(location, CheckpointCorruption.Truncated, $"the file is {length} bytes, shorter than a state file's header and footer ({minimum} bytes).");
            }

            Span<byte> header = stackalloc byte[StateFileFormat.HeaderLength];
            ReadExactly(file, 0, header, location);
            if (!header[..8].SequenceEqual(StateFileFormat.Magic))
            {
                throw new CheckpointCorruptException(location, CheckpointCorruption.WrongMagic, $"it starts with {Convert.ToHexString(header[..8])}, not the state file magic 'WEIRSTAT'.");
            }

            ushort version = BinaryPrimitives.ReadUInt16LittleEndian(header[8..]);
            if (version != StateFileFormat.CurrentVersion)
            {
                throw new CheckpointCorruptException(
                    location,
                    CheckpointCorruption.UnknownVersion,
                    $"format version {version}; this build reads version {StateFileFormat.CurrentVersion}{(version > StateFileFormat.CurrentVersion ? " (the file was written by a newer Weir)" : "")}.");
            }

            var codec = (StateFileCodec)header[10];
            if (codec is not (StateFileCodec.None or StateFileCodec.Zstd))
            {
                throw new CheckpointCorruptException(location, CheckpointCorruption.UnknownCodec, $"codec {header[10]} is not one this build knows (0 none, 1 zstd).");
            }

            Span<byte> footer = stackalloc byte[StateFileFormat.FooterLength];
            ReadExactly(file, length - StateFileFormat.FooterLength, footer, location);
            if (!footer[24..].SequenceEqual(StateFileFormat.EndMagic))
            {
                throw new CheckpointCorruptException(location, CheckpointCorruption.Truncated, $"the end marker 'WSTATEND' is missing from the last bytes of the {length}-byte file: it was cut short (or its end was overwritten).");
            }

            long bodyLength = BinaryPrimitives.ReadInt64LittleEndian(footer);
            long uncompressedLength = BinaryPrimitives.ReadInt64LittleEndian(footer[8..]);
            ulong checksum = BinaryPrimitives.ReadUInt64LittleEndian(footer[16..]);
            if (bodyLength != length - minimum || uncompressedLength < 0 || (codec == StateFileCodec.None && uncompressedLength != bodyLength))
            {
                throw new CheckpointCorruptException(location, CheckpointCorruption.LengthMismatch, $"the footer records a {bodyLength}-byte body ({uncompressedLength} bytes uncompressed) in a {length}-byte file.");
            }

            if (expected is not null && checksum != expected.Checksum)
            {
                throw new CheckpointCorruptException(location, CheckpointCorruption.ChecksumMismatch, $"the file's footer records checksum {checksum:x16}, the checkpoint metadata says {expected.Checksum:x16} (a different file of the same name?).");
            }

            if (expected is not null && uncompressedLength != expected.UncompressedLength)
            {
                throw new CheckpointCorruptException(location, CheckpointCorruption.LengthMismatch, $"the file holds {uncompressedLength} bytes of state, the checkpoint metadata says {expected.UncompressedLength}.");
            }

            return new Frame(codec, length, bodyLength, uncompressedLength, checksum, footer[..StateFileFormat.FooterHashedLength].ToArray());
        }

        private static ulong HashStoredBytes(Stream file, string location, Frame frame)
        {
            var hash = new XxHash3();
            byte[] buffer = ArrayPool<byte>.Shared.Rent(VerifyBufferLength);
            try
            {
                long remaining = frame.StoredLength - (StateFileFormat.FooterLength - StateFileFormat.FooterHashedLength);
                file.Seek(0, SeekOrigin.Begin);
                while (remaining > 0)
                {
                    int read = ReadSome(file, buffer.AsSpan(0, (int)Math.Min(buffer.Length, remaining)), location);
                    if (read == 0)
                    {
                        throw new CheckpointCorruptException(location, CheckpointCorruption.Truncated, "the file got shorter while it was being read.");
                    }

                    hash.Append(buffer.AsSpan(0, read));
                    remaining -= read;
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            return hash.GetCurrentHashAsUInt64();
        }

        private static void ReadExactly(Stream file, long offset, Span<byte> destination, string location)
        {
            try
            {
                file.Seek(offset, SeekOrigin.Begin);
                file.ReadExactly(destination);
            }
            catch (EndOfStreamException e)
            {
                throw new CheckpointCorruptException(location, CheckpointCorruption.Truncated, "the file got shorter while it was being read.", e);
            }
            catch (IOException e) when (e is not CheckpointStorageException)
            {
                throw new CheckpointStorageException(location, $"Cannot read checkpoint file '{location}': {e.Message}", e);
            }
        }

        private static int ReadSome(Stream file, Span<byte> destination, string location)
        {
            try
            {
                return file.Read(destination);
            }
            catch (IOException e) when (e is not CheckpointStorageException)
            {
                throw new CheckpointStorageException(location, $"Cannot read checkpoint file '{location}': {e.Message}", e);
            }
        }

        private static CheckpointCorruptException ChecksumMismatch(string location, ulong recorded, ulong actual)
            => new(location, CheckpointCorruption.ChecksumMismatch, $"the stored bytes hash to {actual:x16}, the footer records {recorded:x16}.");

        private sealed record Frame(StateFileCodec Codec, long StoredLength, long BodyLength, long UncompressedLength, ulong Checksum, byte[] FooterLengths);

        /// <summary>
        /// The decompressed state, verified as it ends: when the footer's uncompressed length has been
        /// produced, the rest of the body is hashed and the checksum compared before the last bytes
        /// are handed out.
        /// </summary>
        private sealed class StateFileReadStream : Stream
        {
            private readonly Stream _file;
            private readonly string _location;
            private readonly Frame _frame;
            private readonly BodyStream _body;
            private readonly Stream _decoded;
            private long _produced;
            private bool _verified;

            public StateFileReadStream(Stream file, string location, Frame frame)
            {
                _file = file;
                _location = location;
                _frame = frame;
                _body = new BodyStream(file, location, frame.BodyLength);
                _decoded = frame.Codec == StateFileCodec.Zstd ? new DecompressionStream(_body, leaveOpen: true) : _body;
            }

            public override bool CanRead => true;

            public override bool CanSeek => false;

            public override bool CanWrite => false;

            public override long Length => _frame.UncompressedLength;

            public override long Position
            {
                get => _produced;
                set => throw new NotSupportedException();
            }

            public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

            public override int Read(Span<byte> buffer)
            {
                if (_verified || buffer.IsEmpty)
                {
                    return 0;
                }

                long left = _frame.UncompressedLength - _produced;
                int read = 0;
                if (left > 0)
                {
                    read = Decode(buffer[..(int)Math.Min(buffer.Length, left)]);
                    _produced += read;
                    if (read == 0)
                    {
                        FailWithBestExplanation(CheckpointCorruption.LengthMismatch, $"the body decodes to {_produced} bytes, the footer says {_frame.UncompressedLength}.", null);
                    }
                }

                if (_produced == _frame.UncompressedLength)
                {
                    FinishAndVerify();
                }

                return read;
            }

            public override void Flush()
            {
            }

            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

            public override void SetLength(long value) => throw new NotSupportedException();

            public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

            protected override void Dispose(bool disposing)
            {
                if (disposing)
                {
                    if (!ReferenceEquals(_decoded, _body))
                    {
                        _decoded.Dispose();
                    }

                    _file.Dispose();
                }

                base.Dispose(disposing);
            }

            private int Decode(Span<byte> buffer)
            {
                try
                {
                    return _decoded.Read(buffer);
                }
                catch (ZstdException e)
                {
                    FailWithBestExplanation(CheckpointCorruption.UndecodableBody, $"zstd cannot decode the body: {e.Message}", e);
                    throw; // Unreachable: the call above always throws.
                }
            }

            private void FinishAndVerify()
            {
                _body.Drain();
                _body.Hash.Append(_frame.FooterLengths);
                ulong actual = _body.Hash.GetCurrentHashAsUInt64();
                if (actual != _frame.Checksum)
                {
                    throw ChecksumMismatch(_location, _frame.Checksum, actual);
                }

                _verified = true;
            }

            // Damage usually shows first as a decoding error; a checksum over the whole file says
            // which it is: the bytes changed (checksum mismatch) or were written wrong.
            private void FailWithBestExplanation(CheckpointCorruption problem, string detail, Exception? cause)
            {
                ulong actual = HashStoredBytes(_file, _location, _frame);
                if (actual != _frame.Checksum)
                {
                    throw new CheckpointCorruptException(_location, CheckpointCorruption.ChecksumMismatch, $"the stored bytes hash to {actual:x16}, the footer records {_frame.Checksum:x16}.", cause);
                }

                throw new CheckpointCorruptException(_location, problem, detail, cause);
            }
        }

        /// <summary>The body bytes of the file, hashed as they are read, never past the body's end.</summary>
        private sealed class BodyStream : Stream
        {
            private readonly Stream _file;
            private readonly string _location;
            private long _remaining;

            public BodyStream(Stream file, string location, long bodyLength)
            {
                _file = file;
                _location = location;
                _remaining = bodyLength;
                Hash = new XxHash3();
                Span<byte> header = stackalloc byte[StateFileFormat.HeaderLength];
                StateFileReader.ReadExactly(file, 0, header, location);
                Hash.Append(header);
            }

            public XxHash3 Hash { get; }

            public override bool CanRead => true;

            public override bool CanSeek => false;

            public override bool CanWrite => false;

            public override long Length => throw new NotSupportedException();

            public override long Position
            {
                get => throw new NotSupportedException();
                set => throw new NotSupportedException();
            }

            public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

            public override int Read(Span<byte> buffer)
            {
                if (_remaining == 0 || buffer.IsEmpty)
                {
                    return 0;
                }

                int read = ReadSome(_file, buffer[..(int)Math.Min(buffer.Length, _remaining)], _location);
                if (read == 0)
                {
                    throw new CheckpointCorruptException(_location, CheckpointCorruption.Truncated, "the file got shorter while it was being read.");
                }

                Hash.Append(buffer[..read]);
                _remaining -= read;
                return read;
            }

            public void Drain()
            {
                Span<byte> scratch = stackalloc byte[4096];
                while (Read(scratch) > 0)
                {
                }
            }

            public override void Flush()
            {
            }

            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

            public override void SetLength(long value) => throw new NotSupportedException();

            public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        }
    }
}
