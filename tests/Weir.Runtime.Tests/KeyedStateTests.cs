using System;
using System.Collections.Generic;
using System.Linq;
using Weir.Execution;
using Weir.State;
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

/// <summary>Every keyed state kind, on the heap store, through the API generated code and functions use.</summary>
public sealed class KeyedStateTests
{
    private const int MaxParallelism = 128;
    private readonly ManualClock _clock = new();

    private KeyedStateTable<string> NewTable() => new("op", KeyGroups.RangeOf(0, 1, MaxParallelism), _clock);

    private static StateDescriptor Describe(string name, KeyedStateKind kind, StateTtl? ttl = null) => new(name, kind, kind.ToString(), ttl);

    private static void Select(KeyedStateTable<string> table, string key)
        => table.Select(KeyGroups.Of(StableHash.Of(key), MaxParallelism), in key);

    private void Tick(KeyedStateTable<string> table, TimeSpan by)
    {
        _clock.Advance(by);
        table.AdvanceClock();
    }

    [Fact]
    public void Value_state_is_empty_then_holds_updates_per_key_then_clears()
    {
        KeyedStateTable<string> table = NewTable();
        ValueState<long> count = table.Value<long>(Describe("count", KeyedStateKind.Value));

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
        ValueState<string> text = table.Value<string>(Describe("text", KeyedStateKind.Value));
        for (int i = 0; i < 100_000; i++)
        {
            Select(table, "k" + i);
            text.Value = "v" + i;
        }

        string large = new('x', 4 << 20);
        Select(table, "large");
        text.Value = large;

        for (int i = 0; i < 100_000; i += 997)
        {
            Select(table, "k" + i);
            Assert.Equal("v" + i, text.Value);
        }

        Select(table, "large");
        Assert.Same(large, text.Value);
        Assert.Equal(100_001, table.KeyCount);
        Assert.Equal(100_001, Enumerable.Range(0, MaxParallelism).Sum(table.CountKeys));
    }

    [Fact]
    public void List_state_adds_updates_reads_and_clears()
    {
        KeyedStateTable<string> table = NewTable();
        ListState<int> list = table.List<int>(Describe("list", KeyedStateKind.List));

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
        MapState<string, long> map = table.Map<string, long>(Describe("map", KeyedStateKind.Map));

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
    public void Reducing_and_aggregating_state_fold_added_values()
    {
        KeyedStateTable<string> table = NewTable();
        ReducingState<long, Sum> sum = table.Reducing<long, Sum>(Describe("sum", KeyedStateKind.Reducing), default);
        AggregatingState<long, (long, long), double, Average> average = table.Aggregating<long, (long, long), double, Average>(Describe("avg", KeyedStateKind.Aggregating), default);

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
        table.Value<long>(Describe("s", KeyedStateKind.Value));
        Assert.Same(table.GetState("s"), table.Value<long>(Describe("s", KeyedStateKind.Value)));
        var error = Assert.Throws<InvalidOperationException>(() => table.List<long>(Describe("s", KeyedStateKind.List)));
        Assert.Contains("'op'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'s'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_key_whose_state_is_all_cleared_gives_its_slot_to_the_next_new_key()
    {
        KeyedStateTable<string> table = NewTable();
        ValueState<long> value = table.Value<long>(Describe("v", KeyedStateKind.Value));
        ListState<long> list = table.List<long>(Describe("l", KeyedStateKind.List));
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
    public void Ttl_value_expires_and_is_never_returned_by_default()
    {
        KeyedStateTable<string> table = NewTable();
        ValueState<long> value = table.Value<long>(Describe("v", KeyedStateKind.Value, new StateTtl(TimeSpan.FromSeconds(10), CleanupPerRecord: 0)));
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
        ValueState<long> value = table.Value<long>(Describe("v", KeyedStateKind.Value, new StateTtl(TimeSpan.FromSeconds(10), Visibility: StateTtlVisibility.ReturnExpiredIfNotCleanedUp, CleanupPerRecord: 0)));
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
        ValueState<long> value = table.Value<long>(Describe("v", KeyedStateKind.Value, new StateTtl(TimeSpan.FromSeconds(10), StateTtlUpdate.OnReadAndWrite, CleanupPerRecord: 0)));
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
        ListState<int> list = table.List<int>(Describe("l", KeyedStateKind.List, ttl));
        MapState<int, int> map = table.Map<int, int>(Describe("m", KeyedStateKind.Map, ttl));
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

    [Fact]
    public void Incremental_cleanup_removes_expired_keys_that_are_never_read_again()
    {
        KeyedStateTable<string> table = NewTable();
        ValueState<long> value = table.Value<long>(Describe("v", KeyedStateKind.Value, new StateTtl(TimeSpan.FromMinutes(1), CleanupPerRecord: 5)));
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
