using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Weir.Execution;
using Weir.State;
using Weir.State.Faster;
using Xunit;

namespace Weir.Runtime.Tests;

/// <summary>Keyed state written to a stream and restored: across backends, into other key-group ranges, and refused when it does not fit.</summary>
public sealed class KeyedStateSnapshotTests : IDisposable
{
    private const int MaxParallelism = 128;
    private readonly ManualClock _clock = new();
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "weir-snapshot-tests-" + Guid.NewGuid().ToString("N"));
    private readonly List<FasterSpillStore> _stores = new();

    public void Dispose()
    {
        _stores.ForEach(store => store.Dispose());
        FasterSpillStore.DeleteDirectory(_directory);
    }

    /// <summary>One operator's states, as generated code declares them.</summary>
    private sealed class Operator
    {
        public Operator(KeyedStateTable<string> table)
        {
            Table = table;
            Count = table.Value<long>(new StateDescriptor("count", KeyedStateKind.Value, "ValueState<long>"), MemoryPackStateSerializer<long>.Instance);
            Recent = table.List<string>(new StateDescriptor("recent", KeyedStateKind.List, "ListState<string>", new StateTtl(TimeSpan.FromHours(1))), MemoryPackStateSerializer<string>.Instance);
            Pages = table.Map<int, long>(new StateDescriptor("pages", KeyedStateKind.Map, "MapState<int, long>"), MemoryPackStateSerializer<int>.Instance, MemoryPackStateSerializer<long>.Instance);
            Sum = table.Reducing<long, Sum>(new StateDescriptor("sum", KeyedStateKind.Reducing, "ReducingState<long, Sum>"), default, MemoryPackStateSerializer<long>.Instance);
            Average = table.Aggregating<long, (long, long), double, Average>(new StateDescriptor("avg", KeyedStateKind.Aggregating, "AggregatingState<long, (long, long), double, Average>"), default, MemoryPackStateSerializer<(long, long)>.Instance);
        }

        public KeyedStateTable<string> Table { get; }

        public ValueState<long> Count { get; }

        public ListState<string> Recent { get; }

        public MapState<int, long> Pages { get; }

        public ReducingState<long, Sum> Sum { get; }

        public AggregatingState<long, (long, long), double, Average> Average { get; }

        public void Select(string key) => Table.Select(KeyGroups.Of(StableHash.Of(key), MaxParallelism), in key);
    }

    private Operator Heap(int subtask = 0, int parallelism = 1)
        => new(new KeyedStateTable<string>("op", KeyGroups.RangeOf(subtask, parallelism, MaxParallelism), MemoryPackStateSerializer<string>.Instance, _clock));

    private Operator Faster(int subtask = 0, int parallelism = 1)
    {
        var store = new FasterSpillStore(Path.Combine(_directory, _stores.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)), FasterBytesStore.MinimumMemoryBudgetBytes, cachedKeys: 16);
        _stores.Add(store);
        return new(new KeyedStateTable<string>("op", KeyGroups.RangeOf(subtask, parallelism, MaxParallelism), MemoryPackStateSerializer<string>.Instance, _clock, store));
    }

    private static void Fill(Operator op, int keys)
    {
        op.Table.AdvanceClock();
        for (int k = 0; k < keys; k++)
        {
            op.Select("k" + k);
            op.Count.Value = k;
            op.Recent.Add("r" + k);
            op.Recent.Add("s" + k);
            op.Pages.Put(k % 7, k);
            op.Sum.Add(k);
            op.Sum.Add(1);
            op.Average.Add(k);
        }
    }

    private static void AssertHolds(Operator op, int k)
    {
        op.Select("k" + k);
        Assert.Equal(k, op.Count.Value);
        Assert.Equal(new[] { "r" + k, "s" + k }, op.Recent.Get().ToArray());
        Assert.Equal(k, op.Pages.Get(k % 7));
        Assert.Equal(1, op.Pages.Count);
        Assert.Equal(k + 1, op.Sum.Value);
        Assert.Equal(k, op.Average.Value);
    }

    private static MemoryStream Snapshot(Operator op)
    {
        var stream = new MemoryStream();
        KeyedStateSnapshot.Write(op.Table, KeyGroups.RangeOf(0, 1, MaxParallelism), stream);
        stream.Position = 0;
        return stream;
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void Every_state_kind_is_restored_exactly_from_and_into_either_backend(bool fromFaster, bool intoFaster)
    {
        Operator source = fromFaster ? Faster() : Heap();
        Fill(source, 500);
        MemoryStream snapshot = Snapshot(source);

        Operator restored = intoFaster ? Faster() : Heap();
        Assert.Equal(500, KeyedStateSnapshot.Restore(restored.Table, snapshot));
        Assert.Equal(500, restored.Table.KeyCount);
        for (int k = 0; k < 500; k++)
        {
            AssertHolds(restored, k);
        }
    }

    [Fact]
    public void A_snapshot_restored_at_another_parallelism_gives_each_subtask_exactly_its_key_groups()
    {
        Operator source = Heap();
        Fill(source, 1000);
        Operator[] subtasks = { Heap(0, 3), Faster(1, 3), Heap(2, 3) };
        long total = 0;
        foreach (Operator subtask in subtasks)
        {
            total += KeyedStateSnapshot.Restore(subtask.Table, Snapshot(source));
        }

        Assert.Equal(1000, total);
        for (int k = 0; k < 1000; k++)
        {
            int keyGroup = KeyGroups.Of(StableHash.Of("k" + k), MaxParallelism);
            Operator owner = subtasks.Single(s => s.Table.KeyGroups.Contains(keyGroup));
            AssertHolds(owner, k);
        }
    }

    [Fact]
    public void A_snapshot_of_other_states_is_refused_before_any_key_is_loaded()
    {
        Operator source = Heap();
        Fill(source, 10);
        var other = new KeyedStateTable<string>("op", KeyGroups.RangeOf(0, 1, MaxParallelism), MemoryPackStateSerializer<string>.Instance, _clock);
        other.Value<long>(new StateDescriptor("count", KeyedStateKind.Value, "ValueState<long>"), MemoryPackStateSerializer<long>.Instance);
        other.List<long>(new StateDescriptor("recent", KeyedStateKind.List, "ListState<long>"), MemoryPackStateSerializer<long>.Instance);

        var error = Assert.Throws<StateSnapshotException>(() => KeyedStateSnapshot.Restore(other, Snapshot(source)));
        Assert.Contains("operator 'op'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'recent' is List ListState<string> in the snapshot but List ListState<long>", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, other.KeyCount);
    }

    [Fact]
    public void A_truncated_snapshot_fails_saying_so()
    {
        Operator source = Heap();
        Fill(source, 50);
        byte[] bytes = Snapshot(source).ToArray();
        foreach (int length in new[] { 4, 40, bytes.Length / 2, bytes.Length - 1 })
        {
            var error = Assert.Throws<StateSnapshotException>(() => KeyedStateSnapshot.Restore(Heap().Table, new MemoryStream(bytes, 0, length)));
            Assert.Contains("truncated", error.Message, StringComparison.Ordinal);
        }

        var foreign = Assert.Throws<StateSnapshotException>(() => KeyedStateSnapshot.Restore(Heap().Table, new MemoryStream(new byte[64])));
        Assert.Contains("not a keyed state snapshot", foreign.Message, StringComparison.Ordinal);
    }
}
