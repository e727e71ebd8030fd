using System;
using System.Collections.Generic;
using System.Linq;
using Weir.Execution;
using Weir.State;
using Weir.State.Faster;
using System.Globalization;
using System.IO;
using Xunit;

namespace Weir.Runtime.Tests;

/// <summary>A processing-time clock that only moves when a test moves it.</summary>
public sealed class ManualClock : TimeProvider
{
    public long Milliseconds { get; set; } = 1_000_000;

    public override DateTimeOffset GetUtcNow() => DateTimeOffset.FromUnixTimeMilliseconds(Milliseconds);

    public void Advance(TimeSpan by) => Milliseconds += (long)by.TotalMilliseconds;
}

public struct Sum : IReduceFunction<long>
{
    public long Reduce(in long accumulated, in long value) => accumulated + value;
}

public struct Average : IAggregateFunction<long, (long Sum, long Count), double>
{
    public (long Sum, long Count) CreateAccumulator() => (0, 0);

    public void Add(in long value, ref (long Sum, long Count) accumulator) => accumulator = (accumulator.Sum + value, accumulator.Count + 1);

    public double GetResult(in (long Sum, long Count) accumulator) => accumulator.Count == 0 ? 0 : (double)accumulator.Sum / accumulator.Count;
}

/// <summary>
/// Every keyed state kind through the API generated code and functions use. The tests run on each
/// backend (the derived classes): the FASTER one keeps few keys cached, so most reads and writes go
/// through its store.
/// </summary>
public abstract class KeyedStateTests
{
    protected const int MaxParallelism = 128;
    protected readonly ManualClock _clock = new();

    /// <summary>A new store of one subtask owning every key group, holding <c>string</c> keys.</summary>
    protected abstract KeyedStateTable<string> NewTable();

    /// <summary>Characters of the large string value.</summary>
    protected virtual int LargeValueChars => 4 << 20;

    private static IStateSerializer<T> Serializer<T>() => MemoryPackStateSerializer<T>.Instance;

    protected static StateDescriptor Describe(string name, KeyedStateKind kind, StateTtl? ttl = null) => new(name, kind, kind.ToString(), ttl);

    protected static void Select(KeyedStateTable<string> table, string key)
        => table.Select(KeyGroups.Of(StableHash.Of(key), MaxParallelism), in key);

    protected void Tick(KeyedStateTable<string> table, TimeSpan by)
    {
        _clock.Advance(by);
        table.AdvanceClock();
    }

    [Fact]
    public void Value_state_is_empty_then_holds_updates_per_key_then_clears()
    {
        KeyedStateTable<string> table = NewTable();
        ValueState<long> count = table.Value<long>(Describe("count", KeyedStateKind.Value), Serializer<long>());

        Select(table, "a");
        Assert.False(count.HasValue);
        Assert.Equal(0, count.Value);
        count.Value = 5;
        count.Update(6);
        Select(table, "b");
        Assert.False(count.TryGetValue(out _));
        count.Value = 1;
        Select(table, "a");
        Assert.True(count.TryGetValue(out long a));
        Assert.Equal(6, a);
        count.Clear();
        Assert.False(count.HasValue);
        Assert.Equal(1, table.KeyCount);
    }

    [Fact]
    public void Value_state_holds_many_keys_and_large_values()
    {
        KeyedStateTable<string> table = NewTable();
        ValueState<string> text = table.Value<string>(Describe("text", KeyedStateKind.Value), Serializer<string>());
        for (int i = 0; i < 100_000; i++)
        {
            Select(table, "k" + i);
            text.Value = "v" + i;
        }

        string large = new('x', LargeValueChars);
        Select(table, "large");
        text.Value = large;

        for (int i = 0; i < 100_000; i += 997)
        {
            Select(table, "k" + i);
            Assert.Equal("v" + i, text.Value);
        }

        Select(table, "large");
        Assert.Equal(large, text.Value);
        Assert.Equal(100_001, table.KeyCount);
        Assert.Equal(100_001, Enumerable.Range(0, MaxParallelism).Sum(table.CountKeys));
    }

    [Fact]
    public void List_state_adds_updates_reads_and_clears()
    {
        KeyedStateTable<string> table = NewTable();
        ListState<int> list = table.List<int>(Describe("list", KeyedStateKind.List), Serializer<int>());

        Select(table, "a");
        Assert.True(list.IsEmpty);
        Assert.True(list.Get().IsEmpty);
        list.Add(1);
        list.AddAll(new[] { 2, 3 });
        Assert.Equal(new[] { 1, 2, 3 }, list.Get().ToArray());
        list.Update(new[] { 9 });
        Assert.Equal(new[] { 9 }, list.Get().ToArray());

        Select(table, "b");
        Assert.Equal(0, list.Count);
        for (int i = 0; i < 100_000; i++)
        {
            list.Add(i);
        }

        Assert.Equal(Enumerable.Range(0, 100_000), list.Get().ToArray());
        list.Clear();
        Assert.True(list.IsEmpty);
        Select(table, "a");
        Assert.Equal(new[] { 9 }, list.Get().ToArray());
        list.Update(ReadOnlySpan<int>.Empty);
        Assert.Equal(0, table.KeyCount);
    }

    [Fact]
    public void Map_state_puts_gets_removes_enumerates_and_clears()
    {
        KeyedStateTable<string> table = NewTable();
        MapState<string, long> map = table.Map<string, long>(Describe("map", KeyedStateKind.Map), Serializer<string>(), Serializer<long>());

        Select(table, "a");
        Assert.True(map.IsEmpty);
        Assert.False(map.TryGetValue("x", out _));
        Assert.Equal(0, map.Get("x"));
        map.Put("x", 1);
        map.Put("y", 2);
        map.Put("x", 3);
        Assert.Equal(3, map.Get("x"));
        Assert.True(map.ContainsKey("y"));
        Assert.Equal(2, map.Count);
        var entries = new Dictionary<string, long>();
        foreach (KeyValuePair<string, long> entry in map)
        {
            entries.Add(entry.Key, entry.Value);
        }

        Assert.Equal(new Dictionary<string, long> { ["x"] = 3, ["y"] = 2 }, entries);
        Assert.True(map.Remove("y"));
        Assert.False(map.Remove("y"));

        Select(table, "b");
        Assert.Equal(0, map.Count);
        for (int i = 0; i < 50_000; i++)
        {
            map.Put("e" + i, i);
        }

        Assert.Equal(50_000, map.Count);
        Assert.Equal(49_999, map.Get("e49999"));
        map.Clear();
        Assert.True(map.IsEmpty);
        Select(table, "a");
        Assert.Equal(1, map.Count);
    }

    [Fact]
    public void Map_state_value_refs_update_in_place_and_count_as_writes()
    {
        KeyedStateTable<string> table = NewTable();
        var ttl = new StateTtl(TimeSpan.FromSeconds(10), CleanupPerRecord: 0);
        MapState<int, long> counts = table.Map<int, long>(Describe("counts", KeyedStateKind.Map, ttl), Serializer<int>(), Serializer<long>());
        table.AdvanceClock();
        for (int k = 0; k < 300; k++)
        {
            Select(table, "k" + k);
            counts.GetValueRefOrAddDefault(k % 7, out bool existed)++;
            Assert.False(existed);
        }

        for (int k = 0; k < 300; k++)
        {
            Select(table, "k" + k);
            counts.GetValueRefOrAddDefault(k % 7, out bool existed) += 10;
            Assert.True(existed);
            Assert.Equal(11, counts.Get(k % 7));
        }

        Assert.Equal(300, table.KeyCount);
        Tick(table, TimeSpan.FromSeconds(11));
        Select(table, "k1");
        Assert.Equal(0, counts.GetValueRefOrAddDefault(1, out bool expiredExisted));
        Assert.False(expiredExisted);
    }

    [Fact]
    public void Reducing_and_aggregating_state_fold_added_values()
    {
        KeyedStateTable<string> table = NewTable();
        ReducingState<long, Sum> sum = table.Reducing<long, Sum>(Describe("sum", KeyedStateKind.Reducing), default, Serializer<long>());
        AggregatingState<long, (long, long), double, Average> average = table.Aggregating<long, (long, long), double, Average>(Describe("avg", KeyedStateKind.Aggregating), default, Serializer<(long, long)>());

        Select(table, "a");
        Assert.False(sum.HasValue);
        Assert.False(average.HasValue);
        Assert.Equal(0, average.Value);
        foreach (long v in new long[] { 1, 2, 6 })
        {
            sum.Add(v);
            average.Add(v);
        }

        Assert.Equal(9, sum.Value);
        Assert.Equal(3.0, average.Value);
        Select(table, "b");
        sum.Add(100);
        Assert.Equal(100, sum.Value);
        Select(table, "a");
        sum.Clear();
        average.Clear();
        Assert.False(sum.TryGetValue(out _));
        Assert.False(average.HasValue);
    }

    [Fact]
    public void Declaring_a_state_twice_with_another_type_is_refused()
    {
        KeyedStateTable<string> table = NewTable();
        table.Value<long>(Describe("s", KeyedStateKind.Value), Serializer<long>());
        Assert.Same(table.GetState("s"), table.Value<long>(Describe("s", KeyedStateKind.Value), Serializer<long>()));
        var error = Assert.Throws<InvalidOperationException>(() => table.List<long>(Describe("s", KeyedStateKind.List), Serializer<long>()));
        Assert.Contains("'op'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'s'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ttl_value_expires_and_is_never_returned_by_default()
    {
        KeyedStateTable<string> table = NewTable();
        ValueState<long> value = table.Value<long>(Describe("v", KeyedStateKind.Value, new StateTtl(TimeSpan.FromSeconds(10), CleanupPerRecord: 0)), Serializer<long>());
        table.AdvanceClock();
        Select(table, "a");
        value.Value = 7;

        Tick(table, TimeSpan.FromSeconds(9));
        Assert.Equal(7, value.Value);

        // Reads do not refresh the time-to-live under OnCreateAndWrite.
        Tick(table, TimeSpan.FromSeconds(1));
        Assert.False(value.HasValue);
        Assert.Equal(0, value.Value);
        Assert.Equal(0, table.KeyCount);
    }

    [Fact]
    public void Ttl_return_expired_if_not_cleaned_up_returns_it_once()
    {
        KeyedStateTable<string> table = NewTable();
        ValueState<long> value = table.Value<long>(Describe("v", KeyedStateKind.Value, new StateTtl(TimeSpan.FromSeconds(10), Visibility: StateTtlVisibility.ReturnExpiredIfNotCleanedUp, CleanupPerRecord: 0)), Serializer<long>());
        table.AdvanceClock();
        Select(table, "a");
        value.Value = 7;
        Tick(table, TimeSpan.FromSeconds(30));

        // The read that finds it expired may still see it, and removes it.
        Assert.True(value.TryGetValue(out long seen));
        Assert.Equal(7, seen);
        Assert.False(value.HasValue);
    }

    [Fact]
    public void Ttl_on_read_and_write_refreshes_on_every_read()
    {
        KeyedStateTable<string> table = NewTable();
        ValueState<long> value = table.Value<long>(Describe("v", KeyedStateKind.Value, new StateTtl(TimeSpan.FromSeconds(10), StateTtlUpdate.OnReadAndWrite, CleanupPerRecord: 0)), Serializer<long>());
        table.AdvanceClock();
        Select(table, "a");
        value.Value = 7;
        for (int i = 0; i < 5; i++)
        {
            Tick(table, TimeSpan.FromSeconds(8));
            Assert.Equal(7, value.Value);
        }

        Tick(table, TimeSpan.FromSeconds(10));
        Assert.False(value.HasValue);
    }

    [Fact]
    public void Ttl_list_elements_and_map_entries_expire_one_by_one()
    {
        KeyedStateTable<string> table = NewTable();
        var ttl = new StateTtl(TimeSpan.FromSeconds(10), CleanupPerRecord: 0);
        ListState<int> list = table.List<int>(Describe("l", KeyedStateKind.List, ttl), Serializer<int>());
        MapState<int, int> map = table.Map<int, int>(Describe("m", KeyedStateKind.Map, ttl), Serializer<int>(), Serializer<int>());
        table.AdvanceClock();
        Select(table, "a");
        list.Add(1);
        map.Put(1, 1);
        Tick(table, TimeSpan.FromSeconds(6));
        list.Add(2);
        map.Put(2, 2);
        Tick(table, TimeSpan.FromSeconds(6));

        Assert.Equal(new[] { 2 }, list.Get().ToArray());
        Assert.False(map.ContainsKey(1));
        Assert.Equal(1, map.Count);
        Tick(table, TimeSpan.FromSeconds(6));
        Assert.True(list.IsEmpty);
        Assert.True(map.IsEmpty);
        Assert.Equal(0, table.KeyCount);
    }
}

/// <summary>The keyed state tests on the heap backend, plus what only the heap does (slots kept for every key).</summary>
public sealed class HeapKeyedStateTests : KeyedStateTests
{
    protected override KeyedStateTable<string> NewTable()
        => new("op", KeyGroups.RangeOf(0, 1, MaxParallelism), MemoryPackStateSerializer<string>.Instance, _clock);

    [Fact]
    public void A_key_whose_state_is_all_cleared_gives_its_slot_to_the_next_new_key()
    {
        KeyedStateTable<string> table = NewTable();
        ValueState<long> value = table.Value<long>(Describe("v", KeyedStateKind.Value), MemoryPackStateSerializer<long>.Instance);
        ListState<long> list = table.List<long>(Describe("l", KeyedStateKind.List), MemoryPackStateSerializer<long>.Instance);
        for (int i = 0; i < 1000; i++)
        {
            Select(table, "old" + i);
            value.Value = i;
            list.Add(i);
        }

        for (int i = 0; i < 1000; i++)
        {
            Select(table, "old" + i);
            value.Clear();
            list.Clear();
        }

        Assert.Equal(0, table.KeyCount);
        for (int i = 0; i < 1000; i++)
        {
            Select(table, "new" + i);
            Assert.False(value.HasValue);
            Assert.True(list.IsEmpty);
            value.Value = -i;
        }

        Assert.Equal(1000, table.SlotCount);
        Assert.Equal(1000, table.KeyCount);
        Select(table, "old5");
        Assert.False(value.HasValue);
    }

    [Fact]
    public void Incremental_cleanup_removes_expired_keys_that_are_never_read_again()
    {
        KeyedStateTable<string> table = NewTable();
        ValueState<long> value = table.Value<long>(Describe("v", KeyedStateKind.Value, new StateTtl(TimeSpan.FromMinutes(1), CleanupPerRecord: 5)), MemoryPackStateSerializer<long>.Instance);
        table.AdvanceClock();
        for (int i = 0; i < 1000; i++)
        {
            Select(table, "k" + i);
            value.Value = i;
        }

        _clock.Advance(TimeSpan.FromMinutes(2));

        // 200 records of one other key, each checking 5 stored keys: every expired key is visited.
        for (int i = 0; i < 200; i++)
        {
            table.AdvanceClock();
            Select(table, "live");
            value.Value = i;
        }

        Assert.Equal(1, table.KeyCount);
    }
}

/// <summary>
/// The keyed state tests on the FASTER backend with 64 cached keys and the smallest memory budget
/// (4 MiB), so keys keep moving between the cache and the store; plus what only this backend does.
/// </summary>
public sealed class FasterKeyedStateTests : KeyedStateTests, IDisposable
{
    private const int CachedKeys = 64;
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "weir-faster-state-" + Guid.NewGuid().ToString("N"));
    private readonly List<FasterSpillStore> _stores = new();

    protected override KeyedStateTable<string> NewTable() => NewTable(out _);

    private KeyedStateTable<string> NewTable(out FasterSpillStore store)
    {
        store = new FasterSpillStore(Path.Combine(_directory, _stores.Count.ToString(CultureInfo.InvariantCulture)), FasterBytesStore.MinimumMemoryBudgetBytes, CachedKeys);
        _stores.Add(store);
        return new KeyedStateTable<string>("op", KeyGroups.RangeOf(0, 1, MaxParallelism), MemoryPackStateSerializer<string>.Instance, _clock, store);
    }

    public void Dispose()
    {
        _stores.ForEach(store => store.Dispose());
        FasterSpillStore.DeleteDirectory(_directory);
    }

    [Fact]
    public void Keys_beyond_the_cache_are_written_to_the_store_and_read_back_with_every_state_kind()
    {
        KeyedStateTable<string> table = NewTable();
        ValueState<long> value = table.Value<long>(Describe("v", KeyedStateKind.Value), MemoryPackStateSerializer<long>.Instance);
        ListState<string> list = table.List<string>(Describe("l", KeyedStateKind.List), MemoryPackStateSerializer<string>.Instance);
        MapState<int, string> map = table.Map<int, string>(Describe("m", KeyedStateKind.Map), MemoryPackStateSerializer<int>.Instance, MemoryPackStateSerializer<string>.Instance);
        ReducingState<long, Sum> sum = table.Reducing<long, Sum>(Describe("s", KeyedStateKind.Reducing), default, MemoryPackStateSerializer<long>.Instance);
        AggregatingState<long, (long, long), double, Average> average = table.Aggregating<long, (long, long), double, Average>(Describe("a", KeyedStateKind.Aggregating), default, MemoryPackStateSerializer<(long, long)>.Instance);

        // Three passes over 2,000 keys with 64 cached: every pass reads each key back from the store.
        for (int pass = 1; pass <= 3; pass++)
        {
            for (int k = 0; k < 2000; k++)
            {
                Select(table, "k" + k);
                value.Value += k;
                list.Add($"{k}.{pass}");
                map.Put(pass, "p" + pass);
                sum.Add(k);
                average.Add(pass);
            }
        }

        Assert.True(table.SlotCount <= CachedKeys);
        for (int k = 0; k < 2000; k++)
        {
            Select(table, "k" + k);
            Assert.Equal(3L * k, value.Value);
            Assert.Equal(new[] { $"{k}.1", $"{k}.2", $"{k}.3" }, list.Get().ToArray());
            Assert.Equal(3, map.Count);
            Assert.Equal("p2", map.Get(2));
            Assert.Equal(3L * k, sum.Value);
            Assert.Equal(2.0, average.Value);
        }

        Assert.Equal(2000, table.KeyCount);
        var visited = new HashSet<string>();
        table.ForEachKey(table.KeyGroups, (_, key) =>
        {
            Assert.Equal(table.CurrentKey, key);
            Assert.Equal(3L * int.Parse(key.AsSpan(1), CultureInfo.InvariantCulture), value.Value);
            visited.Add(key);
        });
        Assert.Equal(2000, visited.Count);
    }

    [Fact]
    public void A_key_whose_state_is_cleared_is_deleted_from_the_store()
    {
        KeyedStateTable<string> table = NewTable();
        ValueState<long> value = table.Value<long>(Describe("v", KeyedStateKind.Value), MemoryPackStateSerializer<long>.Instance);
        for (int k = 0; k < 500; k++)
        {
            Select(table, "k" + k);
            value.Value = k;
        }

        Assert.Equal(500, table.KeyCount);
        for (int k = 0; k < 500; k += 2)
        {
            Select(table, "k" + k);
            value.Clear();
        }

        Assert.Equal(250, table.KeyCount);
        Select(table, "k2");
        Assert.False(value.HasValue);
        Select(table, "k3");
        Assert.Equal(3, value.Value);
    }

    [Fact]
    public void State_ten_times_the_memory_budget_is_spilled_to_disk_and_read_back_exactly()
    {
        KeyedStateTable<string> table = NewTable(out FasterSpillStore store);
        ValueState<string> payload = table.Value<string>(Describe("payload", KeyedStateKind.Value), MemoryPackStateSerializer<string>.Instance);
        ValueState<long> counter = table.Value<long>(Describe("counter", KeyedStateKind.Value), MemoryPackStateSerializer<long>.Instance);

        // 20,000 keys of 1 KiB characters (2 KiB serialized): about 41 MiB, ten times the 4 MiB budget.
        const int Keys = 20_000;
        static string PayloadOf(int k) => new string((char)('a' + (k % 26)), 1000) + k.ToString(CultureInfo.InvariantCulture);
        for (int k = 0; k < Keys; k++)
        {
            Select(table, "k" + k);
            payload.Value = PayloadOf(k);
            counter.Value = 1;
        }

        // A second pass in another order reads every key back from memory or disk and updates it.
        for (int k = Keys - 1; k >= 0; k -= 3)
        {
            Select(table, "k" + k);
            Assert.Equal(PayloadOf(k), payload.Value);
            counter.Value++;
        }

        Assert.Equal(Keys, table.KeyCount);
        long logBytes = Directory.EnumerateFiles(store.Directory, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Assert.True(logBytes > 10 * FasterBytesStore.MinimumMemoryBudgetBytes, $"only {logBytes} bytes reached the log files");
        for (int k = 0; k < Keys; k++)
        {
            Select(table, "k" + k);
            Assert.Equal(PayloadOf(k), payload.Value);
            Assert.Equal((Keys - 1 - k) % 3 == 0 ? 2 : 1, counter.Value);
        }
    }

    [Fact]
    public void Compaction_drops_keys_whose_every_state_expired()
    {
        KeyedStateTable<string> table = NewTable(out FasterSpillStore store);
        ValueState<long> value = table.Value<long>(Describe("v", KeyedStateKind.Value, new StateTtl(TimeSpan.FromMinutes(1), CleanupPerRecord: 0)), MemoryPackStateSerializer<long>.Instance);
        ValueState<long> forever = table.Value<long>(Describe("forever", KeyedStateKind.Value), MemoryPackStateSerializer<long>.Instance);
        table.AdvanceClock();
        for (int k = 0; k < 1000; k++)
        {
            Select(table, "k" + k);
            value.Value = k;
            if (k % 10 == 0)
            {
                forever.Value = k;
            }
        }

        Assert.Equal(1000, table.KeyCount);
        _clock.Advance(TimeSpan.FromMinutes(2));
        store.Compact(_clock.Milliseconds, wholeLog: true);

        // Keys with a state without time-to-live stay (their expired value is still dropped on read).
        Assert.Equal(100, table.KeyCount);
        Select(table, "k10");
        table.AdvanceClock();
        Assert.False(value.HasValue);
        Assert.Equal(10, forever.Value);
    }

    [Fact]
    public void Corrupt_bytes_in_the_store_fail_with_the_operator_and_what_is_wrong()
    {
        KeyedStateTable<string> table = NewTable(out FasterSpillStore store);
        table.Value<long>(Describe("v", KeyedStateKind.Value), MemoryPackStateSerializer<long>.Instance);
        string key = "broken";
        int keyGroup = KeyGroups.Of(StableHash.Of(key), MaxParallelism);
        SlotWriter storeKey = store.BeginKey(keyGroup, OperatorIds.Hash("op"));
        MemoryPackStateSerializer<string>.Instance.Serialize(in key, storeKey);
        store.Write(storeKey.WrittenSpan, new byte[] { KeyedSlotFormat.CurrentVersion, 0, 0, 0, 0, 0, 0, 0, 0x7f, 1, 0, 4, 0, 0, 0, 100, 0, 0, 0 }, previousChunks: 0, now: 0);

        var error = Assert.Throws<StateSnapshotException>(() => Select(table, key));
        Assert.Contains("'op'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'v'", error.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void State_of_one_key_larger_than_a_log_page_is_stored_in_chunks_that_shrink_with_it()
    {
        KeyedStateTable<string> table = NewTable(out FasterSpillStore store);
        ListState<string> list = table.List<string>(Describe("l", KeyedStateKind.List), MemoryPackStateSerializer<string>.Instance);
        Select(table, "big");
        string[] parts = Enumerable.Range(0, 5).Select(i => new string((char)('a' + i), 512 << 10)).ToArray();
        foreach (string part in parts)
        {
            list.Add(part);
        }

        // About 2.5 MiB for one key: more than one 2 MiB log page, so the store splits it.
        Assert.Equal(1, table.KeyCount);
        Assert.True(store.CountEntries() > 2, $"{store.CountEntries()} entries");
        Select(table, "big");
        Assert.Equal(parts, list.Get().ToArray());

        list.Update(new[] { "small" });
        Assert.Equal(1, table.KeyCount);
        Assert.Equal(1, store.CountEntries());
        Select(table, "big");
        Assert.Equal(new[] { "small" }, list.Get().ToArray());

        list.AddAll(parts);
        Assert.Equal(1, table.KeyCount);
        Select(table, "big");
        list.Clear();
        Assert.Equal(0, table.KeyCount);
        Assert.Equal(0, store.CountEntries());
    }
}
