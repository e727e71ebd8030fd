using System;
using System.Runtime.CompilerServices;

namespace Weir.Execution
{
    /// <summary>
    /// Key-group arithmetic, as in Flink's KeyGroupRangeAssignment: a key belongs to key group
    /// <c>stableHash(key) % maxParallelism</c>; subtask <c>i</c> of <c>p</c> owns the contiguous range
    /// <c>[ceil(i*maxP/p), ((i+1)*maxP - 1)/p]</c>, and key group <c>g</c> is owned by subtask
    /// <c>g * p / maxP</c>.
    /// </summary>
    public static class KeyGroups
    {
        /// <summary>The largest allowed max parallelism (as in Flink: 2^15).</summary>
        public const int UpperBound = 1 << 15;

        /// <summary>The key group of a stable key hash.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static int Of(ulong stableHash, int maxParallelism)
        {
            // For a power of two (every default max parallelism) the remainder is a mask: a 64-bit
            // division per record would cost more than the rest of the routing.
            uint max = (uint)maxParallelism;
            return (max & (max - 1)) == 0 ? (int)(stableHash & (max - 1)) : (int)(stableHash % max);
        }

        /// <summary>The subtask that owns a key group.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static int Subtask(int keyGroup, int maxParallelism, int parallelism)
            => parallelism == 1 ? 0 : keyGroup * parallelism / maxParallelism;

        /// <summary>The key groups owned by one subtask.</summary>
        public static KeyGroupRange RangeOf(int subtask, int parallelism, int maxParallelism)
        {
            ValidateParallelism(parallelism, maxParallelism);
            if ((uint)subtask >= (uint)parallelism)
            {
                throw new ArgumentOutOfRangeException(nameof(subtask), subtask, $"A subtask index must be in [0, {parallelism}).");
            }

            int start = (int)(((long)subtask * maxParallelism + parallelism - 1) / parallelism);
            int end = (int)((((long)subtask + 1) * maxParallelism - 1) / parallelism);
            return new KeyGroupRange(start, end);
        }

        /// <summary>Flink's default max parallelism: <c>min(max(nextPow2(p + p/2), 128), 32768)</c>.</summary>
        public static int DefaultMaxParallelism(int parallelism)
        {
            long wanted = parallelism + (parallelism / 2);
            long pow2 = 1;
            while (pow2 < wanted)
            {
                pow2 <<= 1;
            }

            return (int)Math.Min(Math.Max(pow2, 128), UpperBound);
        }

        /// <summary>Throws a clear error when a parallelism cannot be used with a max parallelism.</summary>
        public static void ValidateParallelism(int parallelism, int maxParallelism)
        {
            if (maxParallelism < 1 || maxParallelism > UpperBound)
            {
                throw new ArgumentOutOfRangeException(nameof(maxParallelism), maxParallelism, $"Max parallelism must be in [1, {UpperBound}].");
            }

            if (parallelism < 1 || parallelism > maxParallelism)
            {
                throw new ArgumentOutOfRangeException(nameof(parallelism), parallelism, $"Parallelism must be in [1, max parallelism = {maxParallelism}].");
            }
        }
    }

    /// <summary>An inclusive range of key groups.</summary>
    public readonly record struct KeyGroupRange(int Start, int End)
    {
        /// <summary>Number of key groups in the range (0 when empty).</summary>
        public int Count => End >= Start ? End - Start + 1 : 0;

        /// <summary>Whether the range holds a key group.</summary>
        public bool Contains(int keyGroup) => keyGroup >= Start && keyGroup <= End;

        /// <inheritdoc/>
        public override string ToString() => Count == 0 ? "[]" : $"[{Start}, {End}]";
    }
}
