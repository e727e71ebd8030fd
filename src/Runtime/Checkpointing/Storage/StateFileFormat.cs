using System;
using System.Buffers.Binary;

namespace Weir.Checkpointing.Storage
{
    /// <summary>How the body of a state file is compressed.</summary>
    public enum StateFileCodec : byte
    {
        /// <summary>Stored as written (for state that is already compressed, and for tests).</summary>
        None = 0,

        /// <summary>One Zstandard frame (the default).</summary>
        Zstd = 1,
    }

    /// <summary>
    /// The layout of a checkpoint state file (all integers little-endian):
    /// <code>
    /// header  (12 bytes)  magic "WEIRSTAT" | format version u16 | codec u8 | reserved u8 (0)
    /// body    (N bytes)   the state, compressed by the codec
    /// footer  (32 bytes)  body length u64 | uncompressed length u64 | XXH3-64 u64 | end magic "WSTATEND"
    /// </code>
    /// The checksum covers every stored byte before it: header, body and the two footer lengths.
    /// The lengths are in the footer rather than the header because state is written as a stream
    /// whose size is known only at the end, and a stream cannot go back to patch its beginning (an
    /// object-store upload cannot either). A reader checks the footer first, so a file cut short
    /// anywhere is reported as truncated before any byte of it is decoded.
    /// </summary>
    public static class StateFileFormat
    {
        /// <summary>The format version this build writes and the only one it reads.</summary>
        public const ushort CurrentVersion = 1;

        /// <summary>Bytes before the body.</summary>
        public const int HeaderLength = 12;

        /// <summary>Bytes after the body.</summary>
        public const int FooterLength = 32;

        /// <summary>The Zstandard level used unless told otherwise (zstd's own default: fast, good ratio).</summary>
        public const int DefaultCompressionLevel = 3;

        internal const int FooterHashedLength = 16;

        /// <summary>The first eight bytes of every state file.</summary>
        public static ReadOnlySpan<byte> Magic => "WEIRSTAT"u8;

        /// <summary>The last eight bytes of every complete state file.</summary>
        public static ReadOnlySpan<byte> EndMagic => "WSTATEND"u8;

        internal static void WriteHeader(Span<byte> header, StateFileCodec codec)
        {
            Magic.CopyTo(header);
            BinaryPrimitives.WriteUInt16LittleEndian(header[8..], CurrentVersion);
            header[10] = (byte)codec;
            header[11] = 0;
        }

        internal static void WriteFooterLengths(Span<byte> footer, long bodyLength, long uncompressedLength)
        {
            BinaryPrimitives.WriteInt64LittleEndian(footer, bodyLength);
            BinaryPrimitives.WriteInt64LittleEndian(footer[8..], uncompressedLength);
        }

        internal static void WriteFooterEnd(Span<byte> footer, ulong checksum)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(footer[16..], checksum);
            EndMagic.CopyTo(footer[24..]);
        }
    }
}
