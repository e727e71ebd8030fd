using System;
using System.Collections.Generic;
using Weir.Execution;
using Weir.State;
using Xunit;

namespace Weir.Runtime.Tests;

/// <summary>The key → slot map of the keyed state table, checked against a Dictionary.</summary>
public sealed class SlotMapTests
{
    [Fact]
    public void FindsAddedKeysAndNotOthers()
    {
        var map = new SlotMap<long>();
        for (long key = 0; key < 1000; key++)
        {
            map.Add(key * 7, (int)key);
        }

        Assert.Equal(1000, map.Count);
        for (long key = 0; key < 1000; key++)
        {
            Assert.Equal((int)key, map.Find(key * 7));
            Assert.Equal(-1, map.Find((key * 7) + 1));
        }
    }

    [Fact]
    public void AddingAKeyTwiceThrows()
    {
        var map = new SlotMap<long>();
        map.Add(5, 0);
        Assert.Throws<ArgumentException>(() => map.Add(5, 1));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(31)]
    [InlineData(1 << 20)]
    public void RandomAddsAndRemovesMatchADictionary(long stride)
    {
        // Keys that share a stride collide often, so probe runs are long and removals shift entries
        // back across the end of the table.
        var random = new Random(42);
        var map = new SlotMap<long>();
        var expected = new Dictionary<long, int>();
        for (int step = 0; step < 200_000; step++)
        {
            long key = random.Next(5000) * stride;
            if (random.Next(3) == 0)
            {
                Assert.Equal(expected.Remove(key), map.Remove(key));
            }
            else if (!expected.ContainsKey(key))
            {
                expected.Add(key, step);
                map.Add(key, step);
            }

            if (step % 997 == 0)
            {
                Assert.Equal(expected.Count, map.Count);
                for (long probe = 0; probe < 5000; probe++)
                {
                    Assert.Equal(expected.TryGetValue(probe * stride, out int slot) ? slot : -1, map.Find(probe * stride));
                }
            }
        }
    }

    [Fact]
    public void StructAndStringKeys()
    {
        var tuples = new SlotMap<(long, int)>();
        tuples.Add((1, 2), 3);
        Assert.Equal(3, tuples.Find((1, 2)));
        Assert.Equal(-1, tuples.Find((2, 1)));
        Assert.True(tuples.Remove((1, 2)));
        Assert.Equal(-1, tuples.Find((1, 2)));

        var strings = new SlotMap<string>();
        strings.Add("a", 0);
        strings.Add("b", 1);
        Assert.Equal(1, strings.Find("b"));
        Assert.True(strings.Remove("a"));
        Assert.False(strings.Remove("a"));
        Assert.Equal(-1, strings.Find("a"));
        Assert.Equal(1, strings.Count);
    }

    [Fact]
    public void A_table_with_long_keys_reuses_emptied_slots_and_forgets_their_old_keys()
    {
        var table = new KeyedStateTable<long>("op", KeyGroups.RangeOf(0, 1, 128), MemoryPackStateSerializer<long>.Instance);
        ValueState<long> value = table.Value<long>(new StateDescriptor("v", KeyedStateKind.Value, "ValueState<long>"), MemoryPackStateSerializer<long>.Instance);
        void Select(long key) => table.Select(KeyGroups.Of(StableHash.Of(key), 128), in key);

        for (long key = 0; key < 1000; key++)
        {
            Select(key * 3);
            value.Value = key;
        }

        for (long key = 0; key < 1000; key += 2)
        {
            Select(key * 3);
            value.Clear();
        }

        for (long key = 0; key < 500; key++)
        {
            Select(-key - 1);
            Assert.False(value.HasValue);
            value.Value = -key;
        }

        Assert.Equal(1000, table.SlotCount);
        Assert.Equal(1000, table.KeyCount);
        for (long key = 0; key < 1000; key++)
        {
            Select(key * 3);
            Assert.Equal(key % 2 == 1, value.HasValue);
            Assert.Equal(key % 2 == 1 ? key : 0, value.Value);
        }

        for (long key = 0; key < 500; key++)
        {
            Assert.True(table.TrySelect(-key - 1));
            Assert.Equal(-key, value.Value);
        }
    }
}
