using System;
using System.Linq;
using Weir.Execution;
using Xunit;

namespace Weir.Runtime.Tests;

public sealed class KeyGroupAndHashTests
{
    [Theory]
    [InlineData(1, 128)]
    [InlineData(3, 128)]
    [InlineData(7, 128)]
    [InlineData(128, 128)]
    [InlineData(5, 7)]
    [InlineData(100, 32768)]
    public void Subtask_ranges_partition_the_key_groups_and_match_the_owner_formula(int parallelism, int maxParallelism)
    {
        int next = 0;
        for (int subtask = 0; subtask < parallelism; subtask++)
        {
            KeyGroupRange range = KeyGroups.RangeOf(subtask, parallelism, maxParallelism);
            Assert.Equal(next, range.Start);
            for (int group = range.Start; group <= range.End; group++)
            {
                Assert.Equal(subtask, KeyGroups.Subtask(group, maxParallelism, parallelism));
            }

            next = range.End + 1;
        }

        Assert.Equal(maxParallelism, next);
    }

    [Theory]
    [InlineData(1, 128)]
    [InlineData(85, 128)]
    [InlineData(86, 256)]
    [InlineData(1000, 2048)]
    [InlineData(30000, 32768)]
    public void Default_max_parallelism_follows_flink(int parallelism, int expected)
        => Assert.Equal(expected, KeyGroups.DefaultMaxParallelism(parallelism));

    [Fact]
    public void Invalid_parallelism_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => KeyGroups.RangeOf(0, 0, 128));
        Assert.Throws<ArgumentOutOfRangeException>(() => KeyGroups.RangeOf(0, 129, 128));
        Assert.Throws<ArgumentOutOfRangeException>(() => KeyGroups.RangeOf(0, 1, 32769));
        Assert.Throws<ArgumentOutOfRangeException>(() => KeyGroups.RangeOf(2, 2, 128));
    }

    [Fact]
    public void Stable_hashes_are_pinned_values()
    {
        // These values are part of the checkpoint format: a change moves keys to other key groups
        // and orphans restored state. string.GetHashCode() would differ on every run.
        Assert.Equal(0x6c42f50de18470caUL, StableHash.Of("weir"));
        Assert.Equal(0UL, StableHash.Of(0L));
        Assert.Equal(0xb456bcfc34c2cb2cUL, StableHash.Of(1L));
        Assert.Equal(StableHash.Of(42L), StableHash.Of(42));
        Assert.Equal(StableHash.Of(-1L), StableHash.Of((short)-1));
        Assert.NotEqual(StableHash.Of("ab"), StableHash.Of("ba"));
        Assert.NotEqual(StableHash.Combine(1, 2), StableHash.Combine(2, 1));
        Assert.Equal(StableHash.Of(new Guid("00112233-4455-6677-8899-aabbccddeeff")), StableHash.Of(new Guid("00112233-4455-6677-8899-aabbccddeeff")));
    }

    [Fact]
    public void String_keys_spread_evenly_over_key_groups()
    {
        int[] groups = new int[128];
        for (int i = 0; i < 128_000; i++)
        {
            groups[KeyGroups.Of(StableHash.Of("user-" + i), 128)]++;
        }

        Assert.InRange(groups.Min(), 800, 1000);
        Assert.InRange(groups.Max(), 1000, 1200);
    }

    [Fact]
    public void Operator_ids_hash_with_fnv1a_64()
    {
        Assert.Equal(0xcbf29ce484222325UL, OperatorIds.Hash(string.Empty));
        Assert.Equal(0xaf63dc4c8601ec8cUL, OperatorIds.Hash("a"));
        Assert.Equal("af63dc4c8601ec8c", OperatorIds.Format(OperatorIds.Hash("a")));
    }
}
