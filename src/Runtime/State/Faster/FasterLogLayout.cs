using System;
using System.Diagnostics;
using System.Numerics;

namespace Weir.State.Faster
{
    /// <summary>
    /// The FASTER hybrid-log and index sizes a <see cref="FasterBytesStore"/> derives from its memory budget.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Page size is fixed at 2 MiB: a record must fit on one page, so this is what lets values of 1 MiB and
    /// more through at every budget, and it keeps the largest entry the same whatever the budget
    /// (<see cref="MaxKeyAndValueBytes"/>). A 2 MiB page is also a good unit for FASTER's flushes.
    /// </para>
    /// <para>
    /// FASTER's in-memory log is a ring of pages whose count must be a power of two, so the log gets the
    /// largest power of two that fits the budget: a budget between two powers of two is honoured, not
    /// filled (FASTER's empty-page setting would not help: it leaves pages unused but still allocated).
    /// The store keeps at least two pages, so one takes writes while the other is flushed to disk,
    /// hence the 4 MiB minimum.
    /// </para>
    /// <para>
    /// The mutable fraction is FASTER's default of 0.9: records in the mutable part are updated in place,
    /// the rest of the in-memory log is read-only and being flushed. FASTER rounds it down to whole pages,
    /// so with two pages one is mutable.
    /// </para>
    /// <para>
    /// The hash index comes on top of the budget: one 64-byte bucket (seven keys) per 512 bytes of log
    /// memory, between 64 KiB and 64 MiB (FASTER's default size). Keys on disk need index entries too;
    /// once the buckets are full FASTER chains overflow buckets, which stays correct and costs a little
    /// lookup speed and memory.
    /// </para>
    /// <para>
    /// Log files are split into segments of eight times the log memory, between 32 MiB and 1 GiB.
    /// A segment is the unit in which disk space is given back after compaction.
    /// </para>
    /// </remarks>
    internal readonly struct FasterLogLayout
    {
        internal const int PageSizeBits = 21;
        internal const long PageSizeBytes = 1L << PageSizeBits;
        internal const long MinimumMemoryBytes = 2 * PageSizeBytes;
        internal const double MutableFraction = 0.9;

        /// <summary>
        /// A record is an 8-byte header, the key with a 4-byte length padded to 8 bytes, then the value
        /// with a 4-byte length, the whole padded to 8 bytes: at most 30 bytes besides key and value.
        /// </summary>
        internal const int RecordOverheadBytes = 32;
        internal const int MaxKeyAndValueBytes = (int)PageSizeBytes - RecordOverheadBytes;

        private const int HashBucketBytes = 64;
        private const int LogBytesPerBucket = 512;
        private const long MinimumIndexBuckets = (64 << 10) / HashBucketBytes;
        private const long MaximumIndexBuckets = (64 << 20) / HashBucketBytes;
        private const int MinimumSegmentSizeBits = 25;
        private const int MaximumSegmentSizeBits = 30;

        private FasterLogLayout(int memorySizeBits)
        {
            MemorySizeBits = memorySizeBits;
            SegmentSizeBits = Math.Clamp(memorySizeBits + 3, MinimumSegmentSizeBits, MaximumSegmentSizeBits);
            IndexBuckets = Math.Clamp(MemoryBytes / LogBytesPerBucket, MinimumIndexBuckets, MaximumIndexBuckets);
        }

        internal int MemorySizeBits { get; }

        internal long MemoryBytes => 1L << MemorySizeBits;

        internal int SegmentSizeBits { get; }

        /// <summary>Number of 64-byte hash buckets; a power of two, as FASTER requires.</summary>
        internal long IndexBuckets { get; }

        /// <summary>The layout for a budget of at least <see cref="MinimumMemoryBytes"/> (the caller checks).</summary>
        internal static FasterLogLayout ForBudget(long memoryBudgetBytes)
        {
            Debug.Assert(memoryBudgetBytes >= MinimumMemoryBytes);
            return new FasterLogLayout(BitOperations.Log2((ulong)memoryBudgetBytes));
        }
    }
}
