using System;
using System.Buffers;
using System.Buffers.Binary;
using System.IO;
using System.Runtime.CompilerServices;
using FASTER.core;

namespace Weir.State.Faster
{
    /// <summary>
    /// Receives one live entry from <see cref="FasterBytesStore.Scan"/>. Both spans point into the scan's
    /// buffers and are valid only during the call: copy what must outlive it.
    /// </summary>
    /// <param name="key">The entry's key; its first two bytes are its big-endian key group.</param>
    /// <param name="value">The entry's latest value.</param>
    public delegate void ScanCallback(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value);

    /// <summary>Receives one record of <see cref="FasterBytesStore.ScanVersionsBelow"/>: key, value, log address, whether it marks a deletion.</summary>
    public delegate void VersionCallback(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long address, bool deleted);

    /// <summary>
    /// A byte key-value store on FASTER's hybrid log, meant to hold the keyed state of one operator subtask.
    /// The newest part of the log lives in memory, within the memory budget; older parts spill to log files
    /// in the store's directory and are read back on demand, so the state can be far larger than the budget.
    /// </summary>
    /// <remarks>
    /// <para>
    /// One thread at a time: the store owns a single FASTER session and finishes every disk read before it
    /// returns. Keys and values are arbitrary bytes; only <see cref="Scan"/> interprets a key, reading its
    /// first two bytes as a big-endian key group (Weir composes its keys that way).
    /// </para>
    /// <para>
    /// Memory: the in-memory log gets <see cref="LogMemoryBytes"/>, the largest power of two within the
    /// budget, in 2 MiB pages. On top of it come the hash index (an eighth of the log memory, from 64 KiB
    /// to 64 MiB, plus overflow buckets when keys outgrow it), FASTER's pooled I/O buffers, and two log
    /// pages (4 MiB) while a <see cref="Scan"/> or <see cref="Compact"/> reads the log.
    /// </para>
    /// <para>
    /// Allocation: reads, writes and deletes of records that are in memory allocate nothing once warm.
    /// A read that has to go to disk allocates FASTER's pending-operation context (a copy of the key and
    /// the I/O request), about 350 to 700 bytes; flushing a full page to disk allocates a few small objects
    /// per 2 MiB. Each <see cref="Scan"/> and <see cref="Compact"/> allocates a log iterator and its page
    /// buffers, and FASTER's iterator allocates about 140 bytes for every record it reads from disk.
    /// </para>
    /// <para>
    /// Opening a directory starts an empty store: whatever an earlier store left there is not recovered
    /// (recovery comes with checkpoints) and is overwritten as the new log grows. Disposing deletes nothing.
    /// </para>
    /// </remarks>
    public sealed unsafe class FasterBytesStore : IDisposable
    {
        /// <summary>The smallest memory budget: two 2 MiB log pages, one taking writes while the other is flushed.</summary>
        public const long MinimumMemoryBudgetBytes = FasterLogLayout.MinimumMemoryBytes;

        /// <summary>The largest key length plus value length of one entry (2 MiB less 32 bytes): an entry must fit on one log page.</summary>
        public const int MaxKeyAndValueBytes = FasterLogLayout.MaxKeyAndValueBytes;

        private const string LogFileName = "hybrid-log";
        private const string LockFileName = "store.lock";

        private readonly FileStream _directoryLock;
        private readonly IDevice _logDevice;
        private readonly FasterKV<SpanByte, SpanByte> _store;
        private readonly FasterStoreFunctions _functions;
        private readonly ClientSession<SpanByte, SpanByte, SpanByte, ValueSink, Empty, FasterStoreFunctions> _session;

        // FASTER passes an input to every operation; this store's reads and writes have none.
        private SpanByte _noInput;

        // The log walk in progress ("Scan" or "Compact"), during which the store must not change.
        private string? _logWalk;
        private bool _disposed;

        /// <summary>Opens an empty store whose log lives in <paramref name="directory"/>.</summary>
        /// <param name="directory">Where the log files go; created if missing. One open store per directory.</param>
        /// <param name="memoryBudgetBytes">
        /// Memory for the in-memory part of the log, at least <see cref="MinimumMemoryBudgetBytes"/>; entries
        /// beyond it are on disk. The store uses the largest power of two within it (<see cref="LogMemoryBytes"/>).
        /// </param>
        /// <exception cref="ArgumentOutOfRangeException">The budget is below <see cref="MinimumMemoryBudgetBytes"/>.</exception>
        /// <exception cref="IOException">The directory cannot be created or written.</exception>
        /// <exception cref="InvalidOperationException">Another open store uses the directory.</exception>
        public FasterBytesStore(string directory, long memoryBudgetBytes)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(directory);
            Directory = Path.GetFullPath(directory);
            if (memoryBudgetBytes < MinimumMemoryBudgetBytes)
            {
                throw new ArgumentOutOfRangeException(nameof(memoryBudgetBytes), memoryBudgetBytes,
                    $"The state store in '{Directory}' was given a memory budget of {memoryBudgetBytes} bytes, below its minimum of " +
                    $"{MinimumMemoryBudgetBytes} bytes (4 MiB: two 2 MiB log pages, one taking writes while the other is flushed to disk). " +
                    "Give the store at least 4 MiB.");
            }

            FasterLogLayout layout = FasterLogLayout.ForBudget(memoryBudgetBytes);
            LogMemoryBytes = layout.MemoryBytes;
            _directoryLock = LockDirectory(Directory);
            try
            {
                // Buffered I/O: unbuffered (O_DIRECT) files fail on file systems without it, such as tmpfs,
                // and the kernel's page cache is reclaimable, so it does not count against the budget.
                _logDevice = Devices.CreateLogDevice(Path.Combine(Directory, LogFileName),
                    preallocateFile: false, deleteOnClose: false, recoverDevice: false, disableFileBuffering: false);
                var logSettings = new LogSettings
                {
                    LogDevice = _logDevice,
                    PageSizeBits = FasterLogLayout.PageSizeBits,
                    MemorySizeBits = layout.MemorySizeBits,
                    SegmentSizeBits = layout.SegmentSizeBits,
                    MutableFraction = FasterLogLayout.MutableFraction,

                    // Keyed state is read and then written back, and the write brings the key to the tail
                    // anyway: copying every disk read into memory as well would spend the budget twice.
                    ReadCopyOptions = ReadCopyOptions.None,
                };

                // One thread per store, so FASTER needs no record locks. The comparer is given because
                // FASTER's default lookup builds a generic type by reflection, which Native AOT cannot promise.
                _store = new FasterKV<SpanByte, SpanByte>(layout.IndexBuckets, logSettings, comparer: new SpanByteComparer(), concurrencyControlMode: ConcurrencyControlMode.None);
                _functions = new FasterStoreFunctions();
                _session = _store.For(_functions).NewSession<FasterStoreFunctions>();
            }
            catch
            {
                _session?.Dispose();
                _store?.Dispose();
                _logDevice?.Dispose();
                _directoryLock.Dispose();
                throw;
            }
        }

        /// <summary>The store's directory, as a full path.</summary>
        public string Directory { get; }

        /// <summary>Bytes of log kept in memory: the largest power of two within the memory budget.</summary>
        public long LogMemoryBytes { get; }

        /// <summary>Bytes of log between its start and its tail (in memory and on disk), including superseded versions until compaction.</summary>
        public long LogBytes => _store.Log.TailAddress - _store.Log.BeginAddress;

        /// <summary>FASTER's log, for tests that look at where records are.</summary>
        internal LogAccessor<SpanByte, SpanByte> Log => _store.Log;

        /// <summary>Appends the value stored under <paramref name="key"/> to <paramref name="value"/>.</summary>
        /// <returns>False, with nothing appended, when the key has no value.</returns>
        public bool TryRead(ReadOnlySpan<byte> key, IBufferWriter<byte> value)
        {
            ArgumentNullException.ThrowIfNull(value);
            ThrowIfDisposed();
            fixed (byte* keyBytes = key)
            {
                SpanByte keySpan = SpanByte.FromPointer(keyBytes, key.Length);
                var sink = new ValueSink(value);
                Status status = _session.Read(ref keySpan, ref _noInput, ref sink, Empty.Default, 0);
                if (status.IsPending)
                {
                    status = CompletePendingRead(out _);
                }

                ThrowIfFaulted(status, "read an entry");
                return status.Found;
            }
        }

        /// <summary>Stores <paramref name="value"/> under <paramref name="key"/>, replacing any value it had.</summary>
        /// <exception cref="ArgumentException">Key and value together exceed <see cref="MaxKeyAndValueBytes"/>.</exception>
        public void Upsert(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
        {
            ThrowIfDisposedOrWalking(nameof(Upsert));
            if ((long)key.Length + value.Length > MaxKeyAndValueBytes)
            {
                throw new ArgumentException(
                    $"An entry of the state store in '{Directory}' would have a {key.Length}-byte key and a {value.Length}-byte value; " +
                    $"together they may have at most {MaxKeyAndValueBytes} bytes (one 2 MiB log page). Split the value across several keys.",
                    nameof(value));
            }

            fixed (byte* keyBytes = key)
            fixed (byte* valueBytes = value)
            {
                SpanByte keySpan = SpanByte.FromPointer(keyBytes, key.Length);
                SpanByte valueSpan = SpanByte.FromPointer(valueBytes, value.Length);
                Status status = _session.Upsert(ref keySpan, ref valueSpan, Empty.Default, 0);
                if (status.IsPending)
                {
                    _session.CompletePending(wait: true);
                }

                ThrowIfFaulted(status, "write an entry");
            }
        }

        /// <summary>Removes <paramref name="key"/> and its value.</summary>
        /// <returns>Whether the key had a value.</returns>
        /// <remarks>
        /// FASTER's delete can only tell whether the key was in memory, so the store looks the key up first:
        /// a key that is in memory costs a second in-memory lookup, a key whose value is on disk costs one
        /// disk read. In return, deleting an absent key writes nothing to the log.
        /// </remarks>
        public bool Delete(ReadOnlySpan<byte> key)
        {
            ThrowIfDisposedOrWalking(nameof(Delete));
            fixed (byte* keyBytes = key)
            {
                SpanByte keySpan = SpanByte.FromPointer(keyBytes, key.Length);
                ValueSink nowhere = default;
                Status lookup = _session.Read(ref keySpan, ref _noInput, ref nowhere, Empty.Default, 0);
                if (lookup.IsPending)
                {
                    lookup = CompletePendingRead(out _);
                }

                ThrowIfFaulted(lookup, "look up an entry to delete");
                if (!lookup.Found)
                {
                    return false;
                }

                Status status = _session.Delete(ref keySpan, Empty.Default, 0);
                if (status.IsPending)
                {
                    _session.CompletePending(wait: true);
                }

                ThrowIfFaulted(status, "delete an entry");
                return true;
            }
        }

        /// <summary>
        /// Calls <paramref name="callback"/> once for every entry whose key group (the key's first two bytes,
        /// big-endian) is in [<paramref name="firstKeyGroup"/>, <paramref name="lastKeyGroup"/>], with its
        /// latest value, in log order. Deleted entries and keys shorter than two bytes are skipped.
        /// </summary>
        /// <remarks>
        /// Reads the whole log, in memory and on disk, once. For each entry of the range the store checks that
        /// no newer record of the key follows; that check stays in memory unless a newer record of a key
        /// sharing its hash slot is on disk. The callback may read from the store but not change it.
        /// </remarks>
        public void Scan(int firstKeyGroup, int lastKeyGroup, ScanCallback callback)
        {
            ArgumentNullException.ThrowIfNull(callback);
            if (firstKeyGroup < 0 || lastKeyGroup > ushort.MaxValue || firstKeyGroup > lastKeyGroup)
            {
                throw new ArgumentOutOfRangeException(nameof(firstKeyGroup),
                    $"Scan of the state store in '{Directory}' was asked for key groups [{firstKeyGroup}, {lastKeyGroup}], " +
                    $"which is not a range within [0, {ushort.MaxValue}].");
            }

            ThrowIfDisposedOrWalking(nameof(Scan));
            _logWalk = nameof(Scan);
            try
            {
                using IFasterScanIterator<SpanByte, SpanByte> records = _store.Log.Scan(_store.Log.BeginAddress, _store.Log.TailAddress);
                while (records.GetNext(out RecordInfo header))
                {
                    if (header.Tombstone)
                    {
                        continue;
                    }

                    ref SpanByte key = ref records.GetKey();
                    ReadOnlySpan<byte> keyBytes = key.AsReadOnlySpan();
                    if (keyBytes.Length < sizeof(ushort))
                    {
                        continue;
                    }

                    int keyGroup = BinaryPrimitives.ReadUInt16BigEndian(keyBytes);
                    if (keyGroup < firstKeyGroup || keyGroup > lastKeyGroup || !IsLatestVersion(ref key, records.CurrentAddress))
                    {
                        continue;
                    }

                    callback(keyBytes, records.GetValue().AsReadOnlySpan());
                }
            }
            finally
            {
                _logWalk = null;
            }
        }

        /// <summary>The address the next record will be written at: records below it exist now.</summary>
        public long TailAddress => _store.Log.TailAddress;

        /// <summary>
        /// Makes every record written so far read-only, so later writes of their keys append new
        /// records instead of updating them in place: the log below <see cref="TailAddress"/> then keeps
        /// the store's contents as of this call (a snapshot version), as long as compaction does not run.
        /// The pages are flushed in the background; the call does not wait for that.
        /// </summary>
        public void FreezeUpToTail() => _store.Log.ShiftReadOnlyAddress(_store.Log.TailAddress, wait: false);

        /// <summary>
        /// Calls <paramref name="callback"/> for every record of the log below <paramref name="endAddress"/>,
        /// oldest first, with its address and whether it is a deletion marker; superseded versions
        /// included. Unlike <see cref="Scan"/> it does not use the owner's session, so a snapshot thread
        /// may run it while the owner keeps writing, provided the records below
        /// <paramref name="endAddress"/> were frozen (<see cref="FreezeUpToTail"/>) and no compaction
        /// runs until it returns.
        /// </summary>
        public void ScanVersionsBelow(long endAddress, VersionCallback callback)
        {
            ArgumentNullException.ThrowIfNull(callback);
            ThrowIfDisposed();
            using IFasterScanIterator<SpanByte, SpanByte> records = _store.Log.Scan(_store.Log.BeginAddress, endAddress);
            while (records.GetNext(out RecordInfo header))
            {
                callback(records.GetKey().AsReadOnlySpan(), records.GetValue().AsReadOnlySpan(), records.CurrentAddress, header.Tombstone);
            }
        }

        /// <summary>
        /// Compacts the log up to its safe read-only address (everything but the newest, still mutable part):
        /// latest values there are copied to the tail, older versions and deleted entries are dropped, and
        /// log segments that lie wholly below the new start are deleted from disk.
        /// </summary>
        /// <param name="dropEntry">
        /// Called with the key and latest value of each live entry in the compacted part; returning true drops
        /// the entry (for example because its time-to-live has passed). It must not change the store.
        /// </param>
        /// <param name="wholeLog">Compact the mutable region too (flushing it first), so nothing stale remains.</param>
        /// <returns>The number of live entries dropped by <paramref name="dropEntry"/>.</returns>
        /// <remarks>
        /// Written here rather than with FASTER's <c>Compact</c>, whose filter also sees superseded versions of a
        /// key: counted drops would include those, and a time-to-live would be judged on stale values.
        /// The log on disk is truncated at once: the caller must not compact while a snapshot still reads
        /// old versions (<see cref="ScanVersionsBelow"/>); <c>FasterSpillStore.CompactionHolds</c> defers it.
        /// </remarks>
        public long Compact(Func<ReadOnlySpan<byte>, ReadOnlySpan<byte>, bool>? dropEntry = null, bool wholeLog = false)
        {
            ThrowIfDisposedOrWalking(nameof(Compact));
            if (wholeLog)
            {
                // Make the mutable region read-only (its pages are flushed), so compaction reaches the tail.
                _store.Log.ShiftReadOnlyAddress(_store.Log.TailAddress, wait: true);
            }

            long begin = _store.Log.BeginAddress;
            long until = _store.Log.SafeReadOnlyAddress;
            if (until <= begin)
            {
                return 0;
            }

            long dropped = 0;
            long compactedUntil = begin;
            _logWalk = nameof(Compact);
            try
            {
                using IFasterScanIterator<SpanByte, SpanByte> records = _store.Log.Scan(begin, until);
                while (records.GetNext(out RecordInfo header))
                {
                    compactedUntil = records.NextAddress;
                    if (header.Tombstone)
                    {
                        continue;
                    }

                    ref SpanByte key = ref records.GetKey();
                    if (!IsLatestVersion(ref key, records.CurrentAddress))
                    {
                        continue;
                    }

                    ref SpanByte value = ref records.GetValue();
                    if (dropEntry is not null && dropEntry(key.AsReadOnlySpan(), value.AsReadOnlySpan()))
                    {
                        dropped++;
                        continue;
                    }

                    // The record is the key's latest and lies below the mutable region, so an upsert appends
                    // a copy at the tail instead of updating it in place.
                    Status status = _session.Upsert(ref key, ref value, Empty.Default, 0);
                    if (status.IsPending)
                    {
                        _session.CompletePending(wait: true);
                    }

                    ThrowIfFaulted(status, "copy a live entry during compaction");
                }
            }
            finally
            {
                _logWalk = null;
            }

            _store.Log.ShiftBeginAddress(compactedUntil, snapToPageStart: false, truncateLog: true);
            return dropped;
        }

        /// <summary>Closes the session, the store and its log files, and releases the directory. Deletes nothing.</summary>
        public void Dispose()
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _session.Dispose();
            _store.Dispose();
            _logDevice.Dispose();
            _directoryLock.Dispose();
        }

        /// <summary>Whether the record of <paramref name="key"/> at <paramref name="address"/> is its newest (and so live, being no tombstone).</summary>
        private bool IsLatestVersion(ref SpanByte key, long address)
        {
            // Searching only above the record, the lookup stops at the hash chain's first address below it,
            // before any disk read for the record itself.
            ReadOptions newerOnly = default;
            SetStopAddress(ref newerOnly, address + 1);
            ValueSink nowhere = default;
            Status status = _session.Read(ref key, ref _noInput, ref nowhere, ref newerOnly, out RecordMetadata newer, Empty.Default, 0);
            if (status.IsPending)
            {
                status = CompletePendingRead(out newer);
            }

            ThrowIfFaulted(status, "look up an entry's latest version");
            if (status.Found)
            {
                return false;
            }

            if (!newer.RecordInfo.Tombstone)
            {
                return true;
            }

            // Normally the key's newer tombstone; but when the search ended on disk FASTER reports the header of
            // the last record it read, which may be another key's. A full lookup settles it.
            ReadOptions fromNewest = default;
            status = _session.Read(ref key, ref _noInput, ref nowhere, ref fromNewest, out RecordMetadata newest, Empty.Default, 0);
            if (status.IsPending)
            {
                status = CompletePendingRead(out newest);
            }

            ThrowIfFaulted(status, "look up an entry's latest version");
            return status.Found && newest.Address == address;
        }

        private Status CompletePendingRead(out RecordMetadata record)
        {
            _session.CompletePending(wait: true);
            record = _functions.CompletedReadRecord;
            return _functions.CompletedReadStatus;
        }

        // FASTER 2.6.5 gives ReadOptions.StopAddress an internal setter (later versions make it public).
        // UnsafeAccessor binds to it without reflection, so it works under Native AOT; should a FASTER
        // upgrade drop it, the first Scan throws MissingMethodException and the scan tests fail.
        [UnsafeAccessor(UnsafeAccessorKind.Method, Name = "set_StopAddress")]
        private static extern void SetStopAddress(ref ReadOptions options, long stopAddress);

        private static FileStream LockDirectory(string directory)
        {
            try
            {
                System.IO.Directory.CreateDirectory(directory);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new IOException(
                    $"The state directory '{directory}' cannot be created: {e.Message} Check the path and its permissions, or configure another state directory.", e);
            }

            try
            {
                return new FileStream(Path.Combine(directory, LockFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (UnauthorizedAccessException e)
            {
                throw new IOException(
                    $"The state directory '{directory}' cannot be written: {e.Message} Check its permissions, or configure another state directory.", e);
            }
            catch (IOException e)
            {
                throw new InvalidOperationException(
                    $"The state directory '{directory}' is in use by another open state store (in this or another process): {e.Message} " +
                    "Dispose that store first, or give each store its own directory.", e);
            }
        }

        private void ThrowIfDisposed()
        {
            if (_disposed)
            {
                throw new ObjectDisposedException(nameof(FasterBytesStore), $"The state store in '{Directory}' has been disposed.");
            }
        }

        private void ThrowIfDisposedOrWalking(string operation)
        {
            ThrowIfDisposed();
            if (_logWalk is not null)
            {
                throw new InvalidOperationException(
                    $"{operation} was called on the state store in '{Directory}' from inside its own {_logWalk}. " +
                    $"Collect the keys during {_logWalk} and apply the changes after it returns.");
            }
        }

        private void ThrowIfFaulted(Status status, string operation)
        {
            if (status.IsFaulted)
            {
                throw new IOException(
                    $"The state store in '{Directory}' could not {operation} ({status}). " +
                    "Check that the disk holding the directory is present, writable and not full.");
            }
        }
    }
}
