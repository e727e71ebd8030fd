using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using Weir.State.Faster;
using Xunit;
using Xunit.Abstractions;

namespace Weir.Runtime.Tests;

public sealed class FasterBytesStoreTests : IDisposable
{
    private const long FourMiB = 4L << 20;

    private readonly string _root = Path.Combine(Path.GetTempPath(), "weir-faster-tests-" + Guid.NewGuid().ToString("N"));
    private readonly ITestOutputHelper _output;

    public FasterBytesStoreTests(ITestOutputHelper output) => _output = output;

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public void Upsert_read_overwrite_delete_and_absent_keys()
    {
        using FasterBytesStore store = Open();
        byte[] key = Key(keyGroup: 7, id: 1);

        Assert.Null(Read(store, key));
        Assert.False(store.Delete(key));

        store.Upsert(key, Value(1, length: 16));
        Assert.Equal(Value(1, length: 16), Read(store, key));

        store.Upsert(key, Value(2, length: 16));
        Assert.Equal(Value(2, length: 16), Read(store, key));
        store.Upsert(key, Value(3, length: 40));
        Assert.Equal(Value(3, length: 40), Read(store, key));
        store.Upsert(key, Value(4, length: 3));
        Assert.Equal(Value(4, length: 3), Read(store, key));
        store.Upsert(key, ReadOnlySpan<byte>.Empty);
        Assert.Equal(Array.Empty<byte>(), Read(store, key));

        // TryRead appends to what the writer already holds, and leaves it alone for an absent key.
        var writer = new ArrayBufferWriter<byte>();
        writer.Write(new byte[] { 9, 9 });
        store.Upsert(key, new byte[] { 1, 2, 3 });
        Assert.True(store.TryRead(key, writer));
        Assert.False(store.TryRead(Key(7, 2), writer));
        Assert.Equal(new byte[] { 9, 9, 1, 2, 3 }, writer.WrittenSpan.ToArray());

        Assert.True(store.Delete(key));
        Assert.Null(Read(store, key));
        Assert.False(store.Delete(key));

        store.Upsert(key, Value(5, length: 8));
        Assert.Equal(Value(5, length: 8), Read(store, key));
    }

    [Fact]
    public void A_one_MiB_value_round_trips_in_memory_and_from_disk_and_the_size_limit_is_explained()
    {
        using FasterBytesStore store = Open();
        byte[] bigKey = Key(1, 1);
        byte[] big = Value(42, length: 1 << 20);
        store.Upsert(bigKey, big);
        Assert.Equal(big, Read(store, bigKey));

        byte[] largest = Value(43, length: FasterBytesStore.MaxKeyAndValueBytes - 6);
        store.Upsert(Key(1, 2), largest);
        Assert.Equal(largest, Read(store, Key(1, 2)));

        WriteFiller(store, bytes: 3 * store.LogMemoryBytes);
        Assert.True(store.Log.HeadAddress > store.Log.BeginAddress + (2 << 20), "the large values should have left memory");
        Assert.Equal(big, Read(store, bigKey));
        Assert.Equal(largest, Read(store, Key(1, 2)));

        ArgumentException tooBig = Assert.Throws<ArgumentException>(
            () => store.Upsert(Key(1, 3), new byte[FasterBytesStore.MaxKeyAndValueBytes - 5]));
        Assert.Contains(store.Directory, tooBig.Message);
        Assert.Contains(FasterBytesStore.MaxKeyAndValueBytes.ToString(), tooBig.Message);
    }

    [Fact]
    public void Many_small_keys_with_overwrites_and_deletes()
    {
        using FasterBytesStore store = Open();
        const int Count = 100_000;
        for (int id = 0; id < Count; id++)
        {
            store.Upsert(Key(id % 128, id), Value(id, length: 8));
        }

        for (int id = 0; id < Count; id += 2)
        {
            store.Upsert(Key(id % 128, id), Value(id, length: 8, version: 1));
        }

        for (int id = 0; id < Count; id += 5)
        {
            Assert.True(store.Delete(Key(id % 128, id)));
        }

        for (int id = 0; id < Count; id++)
        {
            byte[]? expected = id % 5 == 0 ? null : Value(id, length: 8, version: id % 2 == 0 ? 1 : 0);
            Assert.Equal(expected, Read(store, Key(id % 128, id)));
        }
    }

    [Fact]
    public void State_ten_times_the_memory_budget_spills_to_disk_and_every_entry_reads_back()
    {
        using FasterBytesStore store = Open(budget: FourMiB);
        Assert.Equal(FourMiB, store.LogMemoryBytes);
        const int ValueLength = 1000;
        int count = (int)(10 * FourMiB / ValueLength);

        var clock = Stopwatch.StartNew();
        for (int id = 0; id < count; id++)
        {
            store.Upsert(Key(id % 1024, id), Value(id, ValueLength));
        }

        TimeSpan writing = clock.Elapsed;

        long onDisk = store.Log.HeadAddress - store.Log.BeginAddress;
        long inMemory = store.Log.TailAddress - store.Log.HeadAddress;
        long logFileBytes = Directory.GetFiles(store.Directory, "hybrid-log*").Sum(file => new FileInfo(file).Length);
        Assert.True(inMemory <= store.LogMemoryBytes, $"{inMemory} bytes of log are in memory, more than the budget's {store.LogMemoryBytes}");
        Assert.Equal(store.LogMemoryBytes, store.Log.MemorySizeBytes);
        Assert.True(onDisk >= 8 * FourMiB, $"only {onDisk} bytes of log are below the in-memory region");
        Assert.True(logFileBytes >= onDisk, $"the log files hold {logFileBytes} bytes, less than the {onDisk} bytes evicted from memory");

        clock.Restart();
        var buffer = new ArrayBufferWriter<byte>(ValueLength);
        for (int id = 0; id < count; id++)
        {
            buffer.ResetWrittenCount();
            Assert.True(store.TryRead(Key(id % 1024, id), buffer));
            Assert.True(buffer.WrittenSpan.SequenceEqual(Value(id, ValueLength)), $"entry {id} read back wrong");
        }

        _output.WriteLine($"{count} entries of {ValueLength} bytes ({store.Log.TailAddress >> 20} MiB of log, {onDisk >> 20} MiB on disk, " +
            $"{logFileBytes >> 20} MiB of files): written in {writing.TotalMilliseconds:F0} ms, read back in {clock.Elapsed.TotalMilliseconds:F0} ms");
    }

    [Fact]
    public void Scan_returns_each_live_entry_of_the_key_group_range_once_with_its_latest_value_from_memory_and_disk()
    {
        using FasterBytesStore store = Open();
        var expected = new Dictionary<string, byte[]>();
        void Put(byte[] key, byte[] value)
        {
            store.Upsert(key, value);
            expected[Convert.ToHexString(key)] = value;
        }

        void Remove(byte[] key) => Assert.Equal(expected.Remove(Convert.ToHexString(key)), store.Delete(key));

        const int Count = 6000;
        for (int id = 0; id < Count; id++)
        {
            Put(Key(id % 16, id), Value(id, length: 100 + id % 300));
        }

        WriteFiller(store, bytes: 2 * store.LogMemoryBytes, keyGroup: 100);

        // Now on disk: a third get a newer version (of another length), some get deleted, some come back.
        for (int id = 0; id < Count; id += 3)
        {
            Put(Key(id % 16, id), Value(id, length: 50, version: 1));
        }

        for (int id = 1; id < Count; id += 7)
        {
            Remove(Key(id % 16, id));
        }

        for (int id = 1; id < Count; id += 21)
        {
            Put(Key(id % 16, id), Value(id, length: 20, version: 2));
        }

        // Push the newer versions and tombstones to disk as well, then change a few keys again in memory.
        long endOfChangesOnDisk = store.Log.TailAddress;
        WriteFiller(store, bytes: 2 * store.LogMemoryBytes, keyGroup: 101);
        Assert.True(store.Log.HeadAddress > endOfChangesOnDisk, "the changes above should have left memory");
        for (int id = 2; id < Count; id += 11)
        {
            Put(Key(id % 16, id), Value(id, length: 30, version: 3));
        }

        for (int id = 4; id < Count; id += 13)
        {
            Remove(Key(id % 16, id));
        }

        Assert.Equal(Expected(4, 9), ScanToDictionary(store, 4, 9));
        Assert.Equal(Expected(0, 0), ScanToDictionary(store, 0, 0));
        Assert.Equal(expected, ScanToDictionary(store, 0, 15));
        Assert.Empty(ScanToDictionary(store, 16, 99));

        Dictionary<string, byte[]> everything = ScanToDictionary(store, 0, ushort.MaxValue);
        Assert.Equal(expected.Count + 2 * FillerEntries(2 * store.LogMemoryBytes), everything.Count);
        Assert.All(expected, entry => Assert.Equal(entry.Value, everything[entry.Key]));

        Dictionary<string, byte[]> Expected(int first, int last) => expected
            .Where(entry => Convert.FromHexString(entry.Key) is var key && BinaryPrimitives.ReadUInt16BigEndian(key) is var group && group >= first && group <= last)
            .ToDictionary(entry => entry.Key, entry => entry.Value);
    }

    [Fact]
    public void Scan_skips_short_keys_rejects_bad_ranges_and_forbids_changes_from_its_callback()
    {
        using FasterBytesStore store = Open();
        store.Upsert(new byte[] { 0 }, new byte[] { 1 });
        store.Upsert(Key(3, 1), new byte[] { 2 });

        Assert.Equal(new[] { Convert.ToHexString(Key(3, 1)) }, ScanToDictionary(store, 0, ushort.MaxValue).Keys);
        Assert.Throws<ArgumentOutOfRangeException>(() => store.Scan(5, 4, (_, _) => { }));
        Assert.Throws<ArgumentOutOfRangeException>(() => store.Scan(0, ushort.MaxValue + 1, (_, _) => { }));

        InvalidOperationException nested = Assert.Throws<InvalidOperationException>(
            () => store.Scan(0, ushort.MaxValue, (key, _) => store.Delete(key)));
        Assert.Contains(store.Directory, nested.Message);

        // Reading from the callback is fine, and the store is usable again afterwards.
        store.Scan(0, ushort.MaxValue, (key, value) => Assert.Equal(value.ToArray(), Read(store, key.ToArray())));
        store.Upsert(Key(3, 2), new byte[] { 3 });
        Assert.Equal(2, ScanToDictionary(store, 3, 3).Count);
    }

    [Fact]
    public void Compact_drops_the_live_entries_the_predicate_rejects_keeps_the_rest_and_frees_log_segments()
    {
        using FasterBytesStore store = Open();
        const int Count = 5000;
        for (int id = 0; id < Count; id++)
        {
            store.Upsert(Key(1, id), Value(id, length: 200));
        }

        for (int id = 0; id < Count; id += 2)
        {
            store.Upsert(Key(1, id), Value(id, length: 200, version: 1));
        }

        for (int id = 0; id < Count; id += 5)
        {
            store.Delete(Key(1, id));
        }

        // Filler (key group 2) that the predicate keeps pushes everything above below the mutable region
        // and fills the first 32 MiB log segment.
        WriteFiller(store, bytes: 10 * store.LogMemoryBytes, keyGroup: 2);
        long beginBefore = store.Log.BeginAddress;
        Assert.True(File.Exists(Path.Combine(store.Directory, "hybrid-log.0")));

        var offered = new HashSet<int>();
        long dropped = store.Compact((key, value) =>
        {
            if (BinaryPrimitives.ReadUInt16BigEndian(key) != 1)
            {
                return false;
            }

            int id = BinaryPrimitives.ReadInt32BigEndian(key[2..]);
            Assert.True(offered.Add(id), $"entry {id} was offered twice");
            Assert.True(value.SequenceEqual(Value(id, length: 200, version: id % 2 == 0 ? 1 : 0)), $"entry {id} was offered with a stale value");
            return id % 3 == 0;
        });

        int[] live = Enumerable.Range(0, Count).Where(id => id % 5 != 0).ToArray();
        Assert.Equal(live, offered.Order());
        Assert.Equal(live.Count(id => id % 3 == 0), dropped);
        Assert.True(store.Log.BeginAddress > beginBefore + 8 * store.LogMemoryBytes);
        Assert.True(SpinWait.SpinUntil(() => !File.Exists(Path.Combine(store.Directory, "hybrid-log.0")), TimeSpan.FromSeconds(5)),
            "the first log segment should be deleted once the log begins past it");

        for (int id = 0; id < Count; id++)
        {
            byte[]? expected = id % 5 == 0 || id % 3 == 0 ? null : Value(id, length: 200, version: id % 2 == 0 ? 1 : 0);
            Assert.Equal(expected, Read(store, Key(1, id)));
        }

        Assert.Equal(live.Length - dropped, ScanToDictionary(store, 1, 1).Count);
        Assert.Equal(0, store.Compact());
        Assert.Equal(live.Length - dropped, ScanToDictionary(store, 1, 1).Count);
    }

    [Fact]
    public void A_budget_below_the_minimum_is_refused_and_the_log_uses_the_largest_power_of_two_within_the_budget()
    {
        string directory = Path.Combine(_root, "small");
        ArgumentOutOfRangeException error = Assert.Throws<ArgumentOutOfRangeException>(() => new FasterBytesStore(directory, 1 << 20));
        Assert.Contains(directory, error.Message);
        Assert.Contains("at least 4 MiB", error.Message);
        Assert.Equal(4L << 20, FasterBytesStore.MinimumMemoryBudgetBytes);

        using FasterBytesStore store = Open(budget: 12L << 20);
        Assert.Equal(8L << 20, store.LogMemoryBytes);
        WriteFiller(store, bytes: 3 * store.LogMemoryBytes);
        Assert.Equal(8L << 20, store.Log.MemorySizeBytes);
    }

    [Fact]
    public void A_directory_holds_one_open_store_and_is_released_by_Dispose()
    {
        string directory = Path.Combine(_root, "shared");
        var first = new FasterBytesStore(directory, FourMiB);
        first.Upsert(Key(1, 1), Value(1, length: 64));
        WriteFiller(first, bytes: 2 * first.LogMemoryBytes);

        InvalidOperationException busy = Assert.Throws<InvalidOperationException>(() => new FasterBytesStore(directory, FourMiB));
        Assert.Contains(first.Directory, busy.Message);

        first.Dispose();
        first.Dispose();
        Assert.Throws<ObjectDisposedException>(() => first.TryRead(Key(1, 1), new ArrayBufferWriter<byte>()));
        Assert.NotEmpty(Directory.GetFiles(directory, "hybrid-log*"));

        // Reopening starts empty: recovering the earlier contents is the job of checkpoints.
        using (var second = new FasterBytesStore(directory, FourMiB))
        {
            Assert.Null(Read(second, Key(1, 1)));
            second.Upsert(Key(1, 1), Value(2, length: 64));
            Assert.Equal(Value(2, length: 64), Read(second, Key(1, 1)));
        }

        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public void Reads_and_same_size_overwrites_of_entries_in_memory_allocate_nothing()
    {
        using FasterBytesStore store = Open();
        byte[][] keys = Enumerable.Range(0, 1000).Select(id => Key(id % 64, id)).ToArray();
        byte[] value = Value(0, length: 64);
        foreach (byte[] key in keys)
        {
            store.Upsert(key, value);
        }

        var buffer = new ArrayBufferWriter<byte>(64);
        void ReadAndOverwriteAll()
        {
            foreach (byte[] key in keys)
            {
                buffer.ResetWrittenCount();
                store.TryRead(key, buffer);
                store.Upsert(key, value);
            }
        }

        ReadAndOverwriteAll();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int round = 0; round < 20; round++)
        {
            ReadAndOverwriteAll();
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private FasterBytesStore Open(string name = "store", long budget = FourMiB) => new(Path.Combine(_root, name), budget);

    private static byte[] Key(int keyGroup, int id)
    {
        var key = new byte[6];
        BinaryPrimitives.WriteUInt16BigEndian(key, (ushort)keyGroup);
        BinaryPrimitives.WriteInt32BigEndian(key.AsSpan(2), id);
        return key;
    }

    private static byte[] Value(int id, int length, int version = 0)
    {
        var value = new byte[length];
        uint state = (uint)id * 2654435761u + (uint)version * 40503u + 1;
        for (int i = 0; i < value.Length; i++)
        {
            state = state * 1664525u + 1013904223u;
            value[i] = (byte)(state >> 24);
        }

        return value;
    }

    private static byte[]? Read(FasterBytesStore store, byte[] key)
    {
        var writer = new ArrayBufferWriter<byte>();
        return store.TryRead(key, writer) ? writer.WrittenSpan.ToArray() : null;
    }

    /// <summary>Writes about <paramref name="bytes"/> of log in 1 KiB entries under keys no test reads.</summary>
    private static void WriteFiller(FasterBytesStore store, long bytes, int keyGroup = 999)
    {
        byte[] value = new byte[1000];
        for (int id = 0; id < FillerEntries(bytes); id++)
        {
            store.Upsert(Key(keyGroup, id), value);
        }
    }

    private static int FillerEntries(long bytes) => (int)(bytes / 1024);

    private static Dictionary<string, byte[]> ScanToDictionary(FasterBytesStore store, int firstKeyGroup, int lastKeyGroup)
    {
        var found = new Dictionary<string, byte[]>();
        store.Scan(firstKeyGroup, lastKeyGroup, (key, value) =>
            Assert.True(found.TryAdd(Convert.ToHexString(key), value.ToArray()), $"key {Convert.ToHexString(key)} was scanned twice"));
        return found;
    }
}
