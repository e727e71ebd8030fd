using System;
using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Weir
{
    /// <summary>
    /// A key type that computes its own stable hash. The hash must depend only on the key's value
    /// and be the same in every process, on every machine, in every version of the job: it decides
    /// which key group (and so which subtask and which slice of a checkpoint) owns the key.
    /// </summary>
    public interface IStableHashable
    {
        /// <summary>A 64-bit hash of the value that is stable across processes and versions.</summary>
        ulong GetStableHash();
    }

    /// <summary>
    /// Stable 64-bit hashes of key values. <c>string.GetHashCode()</c> is randomized per process in
    /// .NET, so it must never decide a key group: these functions are fixed forever (they are part of
    /// the checkpoint format). Strings: XXH3-64 (seed 0) of their UTF-16LE code units. Integers,
    /// chars, bools and enums: the MurmurHash3 64-bit finalizer (fmix64) of the value widened to
    /// 64 bits (signed values sign-extended). Guids: XXH3-64 of their 16 bytes in
    /// <see cref="Guid.TryWriteBytes(Span{byte})"/> order. Tuples: <see cref="Combine"/> of the parts.
    /// </summary>
    public static class StableHash
    {
        /// <summary>MurmurHash3's fmix64: a bijective avalanche mix of 64 bits.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Mix(ulong value)
        {
            value ^= value >> 33;
            value *= 0xff51afd7ed558ccdUL;
            value ^= value >> 33;
            value *= 0xc4ceb9fe1a85ec53UL;
            value ^= value >> 33;
            return value;
        }

        /// <summary>Combines the hashes of a composite key's parts, in order.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Combine(ulong first, ulong second)
            => Mix(first ^ (second + 0x9e3779b97f4a7c15UL + (first << 6) + (first >> 2)));

        /// <summary>Stable hash of a string (null hashes as the empty string's hash plus one).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Of(string? value)
            => value is null ? 1UL : XxHash3.HashToUInt64(MemoryMarshal.AsBytes(value.AsSpan()));

        /// <summary>Stable hash of a 64-bit integer.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Of(long value) => Mix(unchecked((ulong)value));

        /// <summary>Stable hash of an unsigned 64-bit integer.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Of(ulong value) => Mix(value);

        /// <summary>Stable hash of a 32-bit integer.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Of(int value) => Mix(unchecked((ulong)(long)value));

        /// <summary>Stable hash of an unsigned 32-bit integer.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Of(uint value) => Mix(value);

        /// <summary>Stable hash of a 16-bit integer.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Of(short value) => Of((long)value);

        /// <summary>Stable hash of an unsigned 16-bit integer.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Of(ushort value) => Mix(value);

        /// <summary>Stable hash of a byte.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Of(byte value) => Mix(value);

        /// <summary>Stable hash of a signed byte.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Of(sbyte value) => Of((long)value);

        /// <summary>Stable hash of a char.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Of(char value) => Mix(value);

        /// <summary>Stable hash of a bool.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong Of(bool value) => Mix(value ? 1UL : 0UL);

        /// <summary>Stable hash of a Guid.</summary>
        public static ulong Of(Guid value)
        {
            Span<byte> bytes = stackalloc byte[16];
            value.TryWriteBytes(bytes);
            return XxHash3.HashToUInt64(bytes);
        }

        /// <summary>Stable hash of a user key type that implements <see cref="IStableHashable"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ulong OfStableHashable<T>(in T value)
            where T : IStableHashable
            => value.GetStableHash();
    }

    /// <summary>
    /// Stable operator IDs: the FNV-1a 64-bit hash of the UTF-8 bytes of the operator's explicit ID
    /// (offset basis 0xcbf29ce484222325, prime 0x100000001b3). Weir.Generator computes the same value
    /// at build time; it never depends on the operator's position in the graph.
    /// </summary>
    public static class OperatorIds
    {
        /// <summary>Hashes an explicit operator ID.</summary>
        public static ulong Hash(string explicitId)
        {
            ulong hash = 0xcbf29ce484222325UL;
            foreach (byte b in Encoding.UTF8.GetBytes(explicitId))
            {
                hash ^= b;
                hash *= 0x100000001b3UL;
            }

            return hash;
        }

        /// <summary>The canonical text form of an operator hash (16 lower-case hex digits).</summary>
        public static string Format(ulong hash) => hash.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
    }
}
