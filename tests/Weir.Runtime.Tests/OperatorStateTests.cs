using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Runtime.CompilerServices;
using MemoryPack;
using Weir.State;
using Xunit;

namespace Weir.Runtime.Tests;

/// <summary>A user type held in operator and broadcast state in these tests.</summary>
[MemoryPackable]
public partial record AlertRule(string Name, int Threshold, double Weight);

public sealed class OperatorStateTests
{
    private static readonly IStateSerializer<long> Longs = MemoryPackStateSerializer<long>.Instance;
    private static readonly IStateSerializer<int> Ints = MemoryPackStateSerializer<int>.Instance;
    private static readonly IStateSerializer<string> Strings = MemoryPackStateSerializer<string>.Instance;
    private static readonly IStateSerializer<AlertRule> Rules = MemoryPackStateSerializer<AlertRule>.Instance;

    // ---------------------------------------------------------------- list state API

    public static TheoryData<bool> BothListKinds => new() { false, true };

    private static OperatorListStateBase<long> NewLongList(bool union, string name = "offsets")
        => union ? new UnionListState<long>(name, Longs) : new OperatorListState<long>(name, Longs);

    [Theory]
    [MemberData(nameof(BothListKinds))]
    public void A_new_list_state_is_empty(bool union)
    {
        OperatorListStateBase<long> state = NewLongList(union);

        Assert.Equal(0, state.Count);
        Assert.True(state.Items.IsEmpty);
        Assert.Equal("offsets", state.Name);
        Assert.Equal(union ? OperatorStateDistribution.Union : OperatorStateDistribution.SplitEvenly, state.Distribution);
    }

    [Theory]
    [MemberData(nameof(BothListKinds))]
    public void Add_and_AddAll_append_in_order(bool union)
    {
        OperatorListStateBase<long> state = NewLongList(union);

        state.Add(1);
        state.Add(2);
        state.AddAll(new long[] { 3, 4, 5, 6, 7 });
        state.AddAll(ReadOnlySpan<long>.Empty);
        state.Add(8);

        Assert.Equal(8, state.Count);
        Assert.Equal(new long[] { 1, 2, 3, 4, 5, 6, 7, 8 }, state.Items.ToArray());
    }

    [Fact]
    public void AddAll_of_the_lists_own_items_doubles_it_even_when_the_list_grows()
    {
        var state = new OperatorListState<long>("offsets", Longs);
        state.AddAll(new long[] { 1, 2, 3, 4 });

        state.AddAll(state.Items);

        Assert.Equal(new long[] { 1, 2, 3, 4, 1, 2, 3, 4 }, state.Items.ToArray());
    }

    [Theory]
    [MemberData(nameof(BothListKinds))]
    public void Update_replaces_the_contents_with_fewer_more_or_no_entries(bool union)
    {
        OperatorListStateBase<long> state = NewLongList(union);
        state.AddAll(new long[] { 1, 2, 3, 4, 5 });

        state.Update(new long[] { 9, 8 });
        Assert.Equal(new long[] { 9, 8 }, state.Items.ToArray());

        long[] many = Enumerable.Range(100, 50).Select(i => (long)i).ToArray();
        state.Update(many);
        Assert.Equal(many, state.Items.ToArray());

        state.Update(ReadOnlySpan<long>.Empty);
        Assert.Equal(0, state.Count);
        Assert.True(state.Items.IsEmpty);
    }

    [Fact]
    public void Update_with_a_slice_of_the_lists_own_items_keeps_that_slice()
    {
        var state = new OperatorListState<long>("offsets", Longs);
        state.AddAll(new long[] { 1, 2, 3, 4, 5 });

        state.Update(state.Items.Slice(2));

        Assert.Equal(new long[] { 3, 4, 5 }, state.Items.ToArray());
    }

    [Theory]
    [MemberData(nameof(BothListKinds))]
    public void Clear_empties_the_list_and_it_can_be_filled_again(bool union)
    {
        OperatorListStateBase<long> state = NewLongList(union);
        state.AddAll(new long[] { 1, 2, 3 });

        state.Clear();
        Assert.Equal(0, state.Count);
        Assert.True(state.Items.IsEmpty);

        state.Clear();
        state.Add(42);
        Assert.Equal(new long[] { 42 }, state.Items.ToArray());
    }

    [Fact]
    public void A_large_list_keeps_every_entry_in_order()
    {
        const int Entries = 1_000_000;
        var state = new OperatorListState<long>("offsets", Longs);

        for (long i = 0; i < Entries; i++)
        {
            state.Add(in i);
        }

        Assert.Equal(Entries, state.Count);
        ReadOnlySpan<long> items = state.Items;
        for (int i = 0; i < Entries; i++)
        {
            Assert.Equal(i, items[i]);
        }
    }

    [Fact]
    public void Clear_releases_the_objects_it_removes()
    {
        var state = new OperatorListState<object>("objects", MemoryPackStateSerializer<object>.Instance);
        WeakReference removed = AddFillerThenUnreachableObject(state);

        state.Clear();
        CollectGarbage();

        Assert.False(removed.IsAlive, "Clear kept a removed entry reachable");
    }

    [Fact]
    public void Update_releases_the_objects_it_replaces_with_fewer_entries()
    {
        var state = new OperatorListState<object>("objects", MemoryPackStateSerializer<object>.Instance);
        WeakReference replaced = AddFillerThenUnreachableObject(state);

        state.Update(new object[] { "kept" });
        CollectGarbage();

        Assert.False(replaced.IsAlive, "Update kept a replaced entry reachable");
        Assert.Equal(new object[] { "kept" }, state.Items.ToArray());
    }

    // The tracked object goes second, so an update to a single entry cannot overwrite its slot.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference AddFillerThenUnreachableObject(OperatorListState<object> state)
    {
        var tracked = new object();
        state.Add(new object());
        state.Add(tracked);
        return new WeakReference(tracked);
    }

    private static void CollectGarbage()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    [Fact]
    public void Adding_value_type_entries_allocates_nothing_once_the_list_has_grown()
    {
        const int Entries = 100_000;
        var state = new OperatorListState<long>("offsets", Longs);
        AddRange(state, Entries);
        state.Clear();
        AddRange(state, Entries);
        state.Clear();

        long before = GC.GetAllocatedBytesForCurrentThread();
        AddRange(state, Entries);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(Entries, state.Count);
        Assert.Equal(Entries - 1, state.Items[Entries - 1]);
        Assert.Equal(0, allocated);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void AddRange(OperatorListState<long> state, int count)
    {
        for (long i = 0; i < count; i++)
        {
            state.Add(in i);
        }
    }

    // ---------------------------------------------------------------- redistribution rules

    [Fact]
    public void Even_split_from_2_to_1_concatenates_in_subtask_order()
    {
        long[][] shares = OperatorStateRedistribution.SplitEvenly(new[] { new long[] { 1, 2, 3 }, new long[] { 4, 5 } }, 1);

        Assert.Single(shares);
        Assert.Equal(new long[] { 1, 2, 3, 4, 5 }, shares[0]);
    }

    [Fact]
    public void Even_split_from_2_to_4_cuts_contiguous_chunks_with_the_larger_ones_first()
    {
        long[][] shares = OperatorStateRedistribution.SplitEvenly(
            new[] { new long[] { 1, 2, 3, 4, 5, 6, 7 }, new long[] { 8, 9, 10 } }, 4);

        Assert.Equal(new long[] { 1, 2, 3 }, shares[0]);
        Assert.Equal(new long[] { 4, 5, 6 }, shares[1]);
        Assert.Equal(new long[] { 7, 8 }, shares[2]);
        Assert.Equal(new long[] { 9, 10 }, shares[3]);
    }

    [Fact]
    public void Even_split_from_3_to_2_spans_old_subtask_boundaries()
    {
        long[][] shares = OperatorStateRedistribution.SplitEvenly(
            new[] { new long[] { 1, 2 }, new long[] { 3 }, new long[] { 4, 5, 6, 7, 8 } }, 2);

        Assert.Equal(new long[] { 1, 2, 3, 4 }, shares[0]);
        Assert.Equal(new long[] { 5, 6, 7, 8 }, shares[1]);
    }

    [Theory]
    [InlineData(new[] { 3, 4 }, 1)]
    [InlineData(new[] { 7, 3 }, 4)]
    [InlineData(new[] { 2, 1, 5 }, 2)]
    [InlineData(new[] { 0, 0, 11 }, 5)]
    [InlineData(new[] { 1, 0 }, 7)]
    [InlineData(new[] { 0, 0 }, 3)]
    [InlineData(new[] { 1000, 1, 37, 0, 250 }, 16)]
    public void Even_split_chunks_differ_by_at_most_one_and_keep_the_order(int[] oldSizes, int newParallelism)
    {
        long[][] old = ListsOfSizes(oldSizes);

        long[][] shares = OperatorStateRedistribution.SplitEvenly(old, newParallelism);

        Assert.Equal(newParallelism, shares.Length);
        Assert.Equal(old.SelectMany(list => list), shares.SelectMany(share => share));
        int smallest = shares.Min(share => share.Length);
        Assert.True(shares.Max(share => share.Length) - smallest <= 1, "chunk sizes differ by more than one");
        for (int i = 1; i < shares.Length; i++)
        {
            Assert.True(shares[i].Length <= shares[i - 1].Length, "a larger chunk follows a smaller one");
        }

        for (int subtask = 0; subtask < newParallelism; subtask++)
        {
            Assert.Equal(shares[subtask], OperatorStateRedistribution.SplitEvenlyShare(old, newParallelism, subtask));
        }
    }

    [Fact]
    public void Even_split_at_an_unchanged_parallelism_leaves_every_subtask_its_own_list()
    {
        long[][] old = { new long[] { 1, 2, 3, 4, 5 }, new long[] { 6 } };

        long[][] shares = OperatorStateRedistribution.SplitEvenly(old, 2);

        Assert.Equal(old[0], shares[0]);
        Assert.Equal(old[1], shares[1]);
        Assert.NotSame(old[0], shares[0]);
    }

    [Theory]
    [InlineData(2, 1)]
    [InlineData(2, 2)]
    [InlineData(2, 4)]
    [InlineData(3, 2)]
    public void Union_gives_every_new_subtask_all_entries_in_subtask_order(int oldParallelism, int newParallelism)
    {
        long[][] old = ListsOfSizes(Enumerable.Range(1, oldParallelism).Select(i => i + 1).ToArray());
        long[] everything = old.SelectMany(list => list).ToArray();

        long[][] shares = OperatorStateRedistribution.Union(old, newParallelism);

        Assert.Equal(newParallelism, shares.Length);
        Assert.All(shares, share => Assert.Equal(everything, share));
        Assert.Equal(newParallelism, shares.Distinct(ReferenceEqualityComparer.Instance).Count());
    }

    [Theory]
    [InlineData(2, 1, new[] { 0 })]
    [InlineData(2, 2, new[] { 0, 1 })]
    [InlineData(2, 4, new[] { 0, 1, 0, 1 })]
    [InlineData(3, 2, new[] { 0, 1 })]
    [InlineData(3, 7, new[] { 0, 1, 2, 0, 1, 2, 0 })]
    public void Broadcast_gives_new_subtask_i_the_copy_of_old_subtask_i_mod_old_parallelism(int oldParallelism, int newParallelism, int[] expectedSources)
    {
        string[] old = Enumerable.Range(0, oldParallelism).Select(i => $"copy of subtask {i}").ToArray();

        string[] shares = OperatorStateRedistribution.Broadcast(old, newParallelism);

        Assert.Equal(expectedSources.Select(source => old[source]), shares);
        for (int subtask = 0; subtask < newParallelism; subtask++)
        {
            Assert.Equal(expectedSources[subtask], OperatorStateRedistribution.BroadcastSource(subtask, oldParallelism));
        }
    }

    [Fact]
    public void Redistribution_leaves_its_inputs_unchanged()
    {
        long[][] old = { new long[] { 1, 2, 3 }, new long[] { 4 } };

        long[][] split = OperatorStateRedistribution.SplitEvenly(old, 3);
        long[][] union = OperatorStateRedistribution.Union(old, 3);
        split[0][0] = -1;
        union[0][0] = -1;

        Assert.Equal(new long[] { 1, 2, 3 }, old[0]);
        Assert.Equal(new long[] { 4 }, old[1]);
    }

    [Fact]
    public void Redistribution_refuses_impossible_arguments()
    {
        long[][] old = { new long[] { 1 } };

        Assert.Throws<ArgumentOutOfRangeException>(() => OperatorStateRedistribution.SplitEvenly(old, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => OperatorStateRedistribution.Union(old, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => OperatorStateRedistribution.Broadcast(old, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => OperatorStateRedistribution.SplitEvenlyShare(old, 2, 2));
        Assert.Throws<ArgumentException>(() => OperatorStateRedistribution.SplitEvenly(Array.Empty<long[]>(), 2));
        Assert.Throws<ArgumentException>(() => OperatorStateRedistribution.Broadcast(Array.Empty<string>(), 2));
        Assert.Throws<ArgumentException>(() => OperatorStateRedistribution.Union(new long[][] { new long[] { 1 }, null! }, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => OperatorStateRedistribution.BroadcastSource(0, 0));
    }

    [Fact]
    public void Restoring_an_even_split_list_from_3_to_2_subtasks_takes_each_share_from_the_snapshots()
    {
        long[][] old = { new long[] { 1, 2 }, new long[] { 3 }, new long[] { 4, 5, 6, 7, 8 } };
        ReadOnlyMemory<byte>[] snapshots = old.Select(list =>
        {
            var state = new OperatorListState<long>("offsets", Longs);
            state.AddAll(list);
            return (ReadOnlyMemory<byte>)Snapshot(state);
        }).ToArray();

        long[][] restored = Enumerable.Range(0, 2).Select(subtask =>
        {
            var state = new OperatorListState<long>("offsets", Longs);
            state.Add(99);
            state.RestoreRedistributed(snapshots, subtask, 2);
            return state.Items.ToArray();
        }).ToArray();

        Assert.Equal(new long[] { 1, 2, 3, 4 }, restored[0]);
        Assert.Equal(new long[] { 5, 6, 7, 8 }, restored[1]);
    }

    [Fact]
    public void Restoring_a_union_list_from_2_to_3_subtasks_gives_each_all_entries()
    {
        ReadOnlyMemory<byte>[] snapshots = new[] { new[] { "a", "b" }, new[] { "c" } }.Select(list =>
        {
            var state = new UnionListState<string>("splits", Strings);
            state.AddAll(list);
            return (ReadOnlyMemory<byte>)Snapshot(state);
        }).ToArray();

        for (int subtask = 0; subtask < 3; subtask++)
        {
            var state = new UnionListState<string>("splits", Strings);
            state.RestoreRedistributed(snapshots, subtask, 3);
            Assert.Equal(new[] { "a", "b", "c" }, state.Items.ToArray());
        }
    }

    [Fact]
    public void Restoring_broadcast_state_from_2_to_3_subtasks_reads_the_copy_of_old_subtask_i_mod_2()
    {
        // Real copies are identical; distinct ones show which copy each new subtask read.
        ReadOnlyMemory<byte>[] snapshots = Enumerable.Range(0, 2).Select(old =>
        {
            var state = new BroadcastState<string, int>("rules", Strings, Ints);
            state.Put("written by", old);
            return (ReadOnlyMemory<byte>)Snapshot(state);
        }).ToArray();

        for (int subtask = 0; subtask < 3; subtask++)
        {
            var state = new BroadcastState<string, int>("rules", Strings, Ints);
            state.RestoreRedistributed(snapshots, subtask, 3);
            Assert.True(state.TryGetValue("written by", out int source));
            Assert.Equal(subtask % 2, source);
        }
    }

    [Fact]
    public void Restoring_redistributed_state_refuses_impossible_arguments()
    {
        var state = new OperatorListState<long>("offsets", Longs);
        ReadOnlyMemory<byte>[] one = { Snapshot(state) };

        Assert.Throws<ArgumentException>(() => state.RestoreRedistributed(Array.Empty<ReadOnlyMemory<byte>>(), 0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => state.RestoreRedistributed(one, 1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => state.RestoreRedistributed(one, 0, 0));
    }

    // ---------------------------------------------------------------- broadcast state API

    [Fact]
    public void Broadcast_state_puts_reads_replaces_and_removes_entries()
    {
        var state = new BroadcastState<string, AlertRule>("rules", Strings, Rules);
        Assert.Equal(0, state.Count);
        Assert.False(state.Contains("cpu"));
        Assert.False(state.TryGetValue("cpu", out _));
        Assert.Equal(OperatorStateDistribution.Broadcast, state.Distribution);

        state.Put("cpu", new AlertRule("cpu", 90, 1.0));
        state.Put("disk", new AlertRule("disk", 95, 0.5));
        Assert.Equal(2, state.Count);
        Assert.True(state.Contains("cpu"));
        Assert.True(state.TryGetValue("disk", out AlertRule? disk));
        Assert.Equal(new AlertRule("disk", 95, 0.5), disk);

        state.Put("cpu", new AlertRule("cpu", 80, 2.0));
        Assert.Equal(2, state.Count);
        Assert.True(state.TryGetValue("cpu", out AlertRule? cpu));
        Assert.Equal(80, cpu!.Threshold);

        Assert.True(state.Remove("cpu"));
        Assert.False(state.Remove("cpu"));
        Assert.False(state.Contains("cpu"));
        Assert.Equal(1, state.Count);

        state.Clear();
        Assert.Equal(0, state.Count);
        Assert.False(state.Contains("disk"));
    }

    [Fact]
    public void Broadcast_state_enumerates_every_entry_of_a_large_map()
    {
        const int Entries = 100_000;
        var state = new BroadcastState<int, long>("weights", Ints, Longs);
        for (int i = 0; i < Entries; i++)
        {
            state.Put(i, i * 3L);
        }

        var seen = new bool[Entries];
        foreach (KeyValuePair<int, long> entry in state)
        {
            Assert.False(seen[entry.Key]);
            Assert.Equal(entry.Key * 3L, entry.Value);
            seen[entry.Key] = true;
        }

        Assert.Equal(Entries, state.Count);
        Assert.DoesNotContain(false, seen);
    }

    [Fact]
    public void Enumerating_broadcast_state_allocates_nothing()
    {
        var state = new BroadcastState<int, long>("weights", Ints, Longs);
        for (int i = 0; i < 1000; i++)
        {
            state.Put(i, i);
        }

        SumValues(state);
        SumValues(state.ReadOnly);

        long before = GC.GetAllocatedBytesForCurrentThread();
        long sum = SumValues(state) + SumValues(state.ReadOnly);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(2 * (999L * 1000 / 2), sum);
        Assert.Equal(0, allocated);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long SumValues(BroadcastState<int, long> state)
    {
        long sum = 0;
        foreach (KeyValuePair<int, long> entry in state)
        {
            sum += entry.Value;
        }

        return sum;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long SumValues(ReadOnlyBroadcastState<int, long> state)
    {
        long sum = 0;
        foreach (KeyValuePair<int, long> entry in state)
        {
            sum += entry.Value;
        }

        return sum;
    }

    [Fact]
    public void Changing_broadcast_state_while_enumerating_it_fails_the_enumeration()
    {
        var state = new BroadcastState<int, long>("weights", Ints, Longs);
        state.Put(1, 1);
        state.Put(2, 2);

        Assert.Throws<InvalidOperationException>(() =>
        {
            foreach (KeyValuePair<int, long> entry in state)
            {
                state.Put(entry.Key + 10, 0);
            }
        });
    }

    [Fact]
    public void The_read_only_view_sees_every_write_to_its_state()
    {
        var state = new BroadcastState<string, int>("limits", Strings, Ints);
        ReadOnlyBroadcastState<string, int> view = state.ReadOnly;
        Assert.Same(view, state.ReadOnly);
        Assert.Equal("limits", view.Name);

        state.Put("a", 1);
        state.Put("b", 2);
        Assert.Equal(2, view.Count);
        Assert.True(view.Contains("a"));
        Assert.True(view.TryGetValue("b", out int b));
        Assert.Equal(2, b);
        var entries = new List<KeyValuePair<string, int>>();
        foreach (KeyValuePair<string, int> entry in view)
        {
            entries.Add(entry);
        }

        Assert.Equal(new[] { "a", "b" }, entries.Select(entry => entry.Key).OrderBy(key => key, StringComparer.Ordinal));

        state.Remove("a");
        Assert.False(view.Contains("a"));
        Assert.False(view.TryGetValue("a", out _));
        Assert.Equal(1, view.Count);
    }

    [Fact]
    public void The_read_only_view_has_no_member_that_can_change_the_state()
    {
        const BindingFlags Everything = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        Type view = typeof(ReadOnlyBroadcastState<string, int>);

        string[] methods = view.GetMethods(Everything).Where(method => !method.IsSpecialName).Select(method => method.Name).OrderBy(name => name, StringComparer.Ordinal).ToArray();
        Assert.Equal(new[] { "Contains", "GetEnumerator", "TryGetValue" }, methods);
        Assert.Equal(new[] { "Count", "Name" }, view.GetProperties(Everything).Select(property => property.Name).OrderBy(name => name, StringComparer.Ordinal));
        Assert.All(view.GetProperties(Everything), property => Assert.Null(property.SetMethod));
        Assert.Empty(view.GetFields(Everything));
        Assert.Empty(view.GetConstructors());
        Assert.Equal(typeof(object), view.BaseType);
        Assert.False(typeof(OperatorState).IsAssignableFrom(view));

        // The enumerator it hands out only moves and reads.
        Type enumerator = view.GetMethod("GetEnumerator")!.ReturnType;
        Assert.True(enumerator.IsValueType);
        Assert.Equal(new[] { "MoveNext" }, enumerator.GetMethods(Everything).Where(method => !method.IsSpecialName).Select(method => method.Name));
        Assert.All(enumerator.GetProperties(Everything), property => Assert.Null(property.SetMethod));
        Assert.Empty(enumerator.GetFields(Everything));
    }

    // ---------------------------------------------------------------- BroadcastStateSet

    [Fact]
    public void A_broadcast_state_set_hands_out_one_state_per_name()
    {
        var set = new BroadcastStateSet("rules-join");

        BroadcastState<string, AlertRule> rules = set.GetOrCreate("rules", Strings, Rules);
        BroadcastState<int, long> weights = set.GetOrCreate("weights", Ints, Longs);
        rules.Put("cpu", new AlertRule("cpu", 90, 1.0));

        Assert.Same(rules, set.GetOrCreate("rules", Strings, Rules));
        Assert.Same(rules.ReadOnly, set.GetReadOnly("rules", Strings, Rules));
        Assert.True(set.GetReadOnly("rules", Strings, Rules).Contains("cpu"));
        Assert.Equal(new OperatorState[] { rules, weights }, set.States);
        Assert.Equal("rules-join", set.OperatorId);
    }

    [Fact]
    public void The_keyed_side_may_declare_a_broadcast_state_before_the_broadcast_side()
    {
        var set = new BroadcastStateSet("rules-join");

        ReadOnlyBroadcastState<string, int> view = set.GetReadOnly("limits", Strings, Ints);
        set.GetOrCreate("limits", Strings, Ints).Put("a", 1);

        Assert.True(view.Contains("a"));
        Assert.Single(set.States);
    }

    [Fact]
    public void Declaring_a_broadcast_state_name_with_other_types_is_refused_with_both_types_named()
    {
        var set = new BroadcastStateSet("rules-join");
        set.GetOrCreate("rules", Strings, Rules);

        InvalidOperationException error = Assert.Throws<InvalidOperationException>(() => set.GetOrCreate("rules", Strings, Ints));
        Assert.Contains("'rules-join'", error.Message);
        Assert.Contains("'rules'", error.Message);
        Assert.Contains("BroadcastState<String, AlertRule>", error.Message);
        Assert.Contains("BroadcastState<String, Int32>", error.Message);

        Assert.Throws<InvalidOperationException>(() => set.GetReadOnly("rules", Ints, Rules));
    }

    // ---------------------------------------------------------------- snapshots

    [Theory]
    [MemberData(nameof(BothListKinds))]
    public void A_value_type_list_survives_a_snapshot(bool union)
    {
        OperatorListStateBase<long> state = NewLongList(union);
        state.AddAll(new long[] { 0, -1, long.MinValue, long.MaxValue, 42 });

        OperatorListStateBase<long> restored = NewLongList(union);
        restored.RestoreSnapshot(Snapshot(state));

        Assert.Equal(state.Items.ToArray(), restored.Items.ToArray());
    }

    [Fact]
    public void A_large_list_survives_a_snapshot()
    {
        var state = new OperatorListState<long>("offsets", Longs);
        for (long i = 0; i < 200_000; i++)
        {
            state.Add(i * 7);
        }

        var restored = new OperatorListState<long>("offsets", Longs);
        restored.RestoreSnapshot(Snapshot(state));

        Assert.Equal(state.Items.ToArray(), restored.Items.ToArray());
        restored.Add(1);
        Assert.Equal(200_001, restored.Count);
    }

    [Fact]
    public void A_string_list_survives_a_snapshot_including_empty_null_and_non_ascii_strings()
    {
        var state = new UnionListState<string>("paths", Strings);
        state.AddAll(new[] { "part-0000.txt", string.Empty, null!, "żółw 🐢", new string('x', 10_000) });

        var restored = new UnionListState<string>("paths", Strings);
        restored.RestoreSnapshot(Snapshot(state));

        Assert.Equal(state.Items.ToArray(), restored.Items.ToArray());
    }

    [Fact]
    public void A_list_of_memorypackable_records_survives_a_snapshot()
    {
        var state = new OperatorListState<AlertRule>("rules", Rules);
        state.Add(new AlertRule("cpu", 90, 1.5));
        state.Add(new AlertRule("disk", -3, double.NaN));

        var restored = new OperatorListState<AlertRule>("rules", Rules);
        restored.RestoreSnapshot(Snapshot(state));

        Assert.Equal(state.Items.ToArray(), restored.Items.ToArray());
    }

    [Fact]
    public void Broadcast_state_survives_a_snapshot()
    {
        var rules = new BroadcastState<string, AlertRule>("rules", Strings, Rules);
        rules.Put("cpu", new AlertRule("cpu", 90, 1.0));
        rules.Put("disk", new AlertRule("disk", 95, 0.25));
        var weights = new BroadcastState<int, long>("weights", Ints, Longs);
        for (int i = 0; i < 10_000; i++)
        {
            weights.Put(i, -i);
        }

        var restoredRules = new BroadcastState<string, AlertRule>("rules", Strings, Rules);
        restoredRules.Put("stale", new AlertRule("stale", 0, 0));
        restoredRules.RestoreSnapshot(Snapshot(rules));
        var restoredWeights = new BroadcastState<int, long>("weights", Ints, Longs);
        restoredWeights.RestoreSnapshot(Snapshot(weights));

        Assert.Equal(Entries(rules), Entries(restoredRules));
        Assert.Equal(Entries(weights), Entries(restoredWeights));
    }

    [Fact]
    public void Empty_states_survive_a_snapshot()
    {
        var list = new OperatorListState<long>("offsets", Longs);
        var restoredList = new OperatorListState<long>("offsets", Longs);
        restoredList.Add(5);
        restoredList.RestoreSnapshot(Snapshot(list));

        var map = new BroadcastState<string, int>("limits", Strings, Ints);
        var restoredMap = new BroadcastState<string, int>("limits", Strings, Ints);
        restoredMap.Put("a", 1);
        restoredMap.RestoreSnapshot(Snapshot(map));

        Assert.Equal(0, restoredList.Count);
        Assert.Equal(0, restoredMap.Count);
        restoredList.Add(6);
        Assert.Equal(new long[] { 6 }, restoredList.Items.ToArray());
    }

    [Fact]
    public void Reading_a_snapshot_does_not_change_the_state()
    {
        var state = new OperatorListState<long>("offsets", Longs);
        state.AddAll(new long[] { 1, 2 });
        byte[] snapshot = Snapshot(state);
        state.Update(new long[] { 9 });

        Assert.Equal(new long[] { 1, 2 }, state.ReadSnapshot(snapshot));
        Assert.Equal(new long[] { 9 }, state.Items.ToArray());
    }

    [Fact]
    public void A_snapshot_starts_with_the_format_version_and_the_kind_of_state()
    {
        byte[] split = Snapshot(new OperatorListState<long>("offsets", Longs));
        byte[] union = Snapshot(new UnionListState<long>("offsets", Longs));
        byte[] broadcast = Snapshot(new BroadcastState<int, int>("limits", Ints, Ints));

        // version 1 (ushort, little-endian), kind, entry count 0 (int32, little-endian)
        Assert.Equal(new byte[] { 1, 0, 1, 0, 0, 0, 0 }, split);
        Assert.Equal(new byte[] { 1, 0, 2, 0, 0, 0, 0 }, union);
        Assert.Equal(new byte[] { 1, 0, 3, 0, 0, 0, 0 }, broadcast);

        var one = new OperatorListState<int>("offsets", Ints);
        one.Add(0x01020304);

        // then each entry framed by its length: MemoryPack writes an int as its 4 little-endian bytes
        Assert.Equal(new byte[] { 1, 0, 1, 1, 0, 0, 0, 4, 0, 0, 0, 4, 3, 2, 1 }, Snapshot(one));
    }

    [Theory]
    [InlineData((ushort)0)]
    [InlineData((ushort)2)]
    [InlineData((ushort)0xFFFF)]
    public void A_snapshot_of_an_unknown_format_version_is_refused_naming_the_state_and_version(ushort version)
    {
        var state = new OperatorListState<long>("offsets", Longs);
        state.Add(1);
        byte[] snapshot = Snapshot(state);
        BinaryPrimitives.WriteUInt16LittleEndian(snapshot, version);

        StateSnapshotException error = Assert.Throws<StateSnapshotException>(() => state.RestoreSnapshot(snapshot));

        Assert.Equal("offsets", error.StateName);
        Assert.Contains("'offsets'", error.Message);
        Assert.Contains($"format version {version}", error.Message);
        Assert.Equal(new long[] { 1 }, state.Items.ToArray());
    }

    [Fact]
    public void Every_truncation_of_a_list_snapshot_is_refused_as_truncated()
    {
        var state = new OperatorListState<AlertRule>("rules", Rules);
        state.Add(new AlertRule("cpu", 90, 1.0));
        state.Add(new AlertRule("disk", 95, 0.5));
        byte[] snapshot = Snapshot(state);

        for (int length = 0; length < snapshot.Length; length++)
        {
            byte[] prefix = snapshot.AsSpan(0, length).ToArray();
            StateSnapshotException error = Assert.Throws<StateSnapshotException>(() => state.RestoreSnapshot(prefix));
            Assert.Equal("rules", error.StateName);
            Assert.Contains("truncated", error.Message);
        }

        Assert.Equal(2, state.Count);
    }

    [Fact]
    public void Every_truncation_of_a_broadcast_snapshot_is_refused_as_truncated()
    {
        var state = new BroadcastState<string, AlertRule>("rules", Strings, Rules);
        state.Put("cpu", new AlertRule("cpu", 90, 1.0));
        state.Put("disk", new AlertRule("disk", 95, 0.5));
        byte[] snapshot = Snapshot(state);

        for (int length = 0; length < snapshot.Length; length++)
        {
            byte[] prefix = snapshot.AsSpan(0, length).ToArray();
            StateSnapshotException error = Assert.Throws<StateSnapshotException>(() => state.RestoreSnapshot(prefix));
            Assert.Equal("rules", error.StateName);
            Assert.Contains("truncated", error.Message);
        }

        Assert.Equal(2, state.Count);
    }

    [Fact]
    public void A_count_larger_than_the_bytes_can_hold_is_refused_before_allocating_for_it()
    {
        byte[] snapshot = Snapshot(new OperatorListState<long>("offsets", Longs));
        BinaryPrimitives.WriteInt32LittleEndian(snapshot.AsSpan(3), int.MaxValue);

        StateSnapshotException error = Assert.Throws<StateSnapshotException>(() => new OperatorListState<long>("offsets", Longs).RestoreSnapshot(snapshot));

        Assert.Contains("truncated", error.Message);
        Assert.Contains($"{int.MaxValue} entries", error.Message);
    }

    [Fact]
    public void Negative_counts_and_lengths_are_refused_as_corrupt()
    {
        var state = new OperatorListState<int>("offsets", Ints);
        state.Add(7);
        byte[] negativeCount = Snapshot(state);
        BinaryPrimitives.WriteInt32LittleEndian(negativeCount.AsSpan(3), -1);
        byte[] negativeLength = Snapshot(state);
        BinaryPrimitives.WriteInt32LittleEndian(negativeLength.AsSpan(7), -4);

        Assert.Contains("entry count is negative", Assert.Throws<StateSnapshotException>(() => state.RestoreSnapshot(negativeCount)).Message);
        Assert.Contains("entry 1 of 1 has a negative length", Assert.Throws<StateSnapshotException>(() => state.RestoreSnapshot(negativeLength)).Message);
    }

    [Fact]
    public void Bytes_after_the_last_entry_are_refused_as_corrupt()
    {
        var state = new OperatorListState<int>("offsets", Ints);
        state.Add(7);
        byte[] snapshot = Snapshot(state).Concat(new byte[] { 0, 0 }).ToArray();

        StateSnapshotException error = Assert.Throws<StateSnapshotException>(() => state.RestoreSnapshot(snapshot));

        Assert.Contains("2 unexpected bytes", error.Message);
    }

    [Fact]
    public void A_snapshot_of_another_kind_of_state_is_refused_naming_both_kinds()
    {
        var union = new UnionListState<long>("offsets", Longs);
        union.Add(1);
        var split = new OperatorListState<long>("offsets", Longs);

        StateSnapshotException error = Assert.Throws<StateSnapshotException>(() => split.RestoreSnapshot(Snapshot(union)));
        Assert.Contains("holds a union operator list state, not an even-split operator list state", error.Message);

        var broadcast = new BroadcastState<long, long>("offsets", Longs, Longs);
        error = Assert.Throws<StateSnapshotException>(() => broadcast.RestoreSnapshot(Snapshot(union)));
        Assert.Contains("not a broadcast state", error.Message);

        byte[] unknownKind = Snapshot(union);
        unknownKind[2] = 200;
        error = Assert.Throws<StateSnapshotException>(() => union.RestoreSnapshot(unknownKind));
        Assert.Contains("an unknown kind of state (200)", error.Message);
    }

    [Fact]
    public void A_value_its_serializer_cannot_read_is_refused_naming_the_entry_and_keeping_the_cause()
    {
        var serializer = new FailingOnReadSerializer();
        var state = new OperatorListState<int>("offsets", serializer);
        state.AddAll(new[] { 1, 2, 3 });
        byte[] snapshot = Snapshot(state);
        serializer.FailOnValue = 2;

        StateSnapshotException error = Assert.Throws<StateSnapshotException>(() => state.RestoreSnapshot(snapshot));

        Assert.Contains("entry 2 of 3 cannot be read as Int32", error.Message);
        Assert.IsType<FormatException>(error.InnerException);
        Assert.Equal(new[] { 1, 2, 3 }, state.Items.ToArray());
    }

    [Fact]
    public void A_broadcast_snapshot_with_a_repeated_or_null_key_is_refused_as_corrupt()
    {
        var state = new BroadcastState<string, int>("limits", Strings, Ints);
        state.Put("kept", 1);

        var repeated = new ArrayBufferWriter<byte>();
        var writer = new StateSnapshotWriter(repeated, StateSnapshotKind.BroadcastMap, 2);
        writer.WriteValue(Strings, "a");
        writer.WriteValue(Ints, 1);
        writer.WriteValue(Strings, "a");
        writer.WriteValue(Ints, 2);

        var nullKey = new ArrayBufferWriter<byte>();
        writer = new StateSnapshotWriter(nullKey, StateSnapshotKind.BroadcastMap, 1);
        writer.WriteValue(Strings, null!);
        writer.WriteValue(Ints, 1);

        Assert.Contains("key of entry 2 of 2 (a) appears twice", Assert.Throws<StateSnapshotException>(() => state.RestoreSnapshot(repeated.WrittenSpan)).Message);
        Assert.Contains("key of entry 1 of 1 is null", Assert.Throws<StateSnapshotException>(() => state.RestoreSnapshot(nullKey.WrittenSpan)).Message);
        Assert.True(state.TryGetValue("kept", out int kept));
        Assert.Equal(1, kept);
        Assert.Equal(1, state.Count);
    }

    [Fact]
    public void A_bad_snapshot_among_the_old_subtasks_fails_the_redistributed_restore_and_changes_nothing()
    {
        var state = new OperatorListState<long>("offsets", Longs);
        state.Add(3);
        ReadOnlyMemory<byte>[] snapshots = { Snapshot(state), new byte[] { 1, 0 } };

        StateSnapshotException error = Assert.Throws<StateSnapshotException>(() => state.RestoreRedistributed(snapshots, 0, 1));

        Assert.Contains("truncated", error.Message);
        Assert.Equal(new long[] { 3 }, state.Items.ToArray());
    }

    // ---------------------------------------------------------------- helpers

    private static byte[] Snapshot(OperatorState state)
    {
        var output = new ArrayBufferWriter<byte>();
        state.WriteSnapshot(output);
        return output.WrittenSpan.ToArray();
    }

    private static List<KeyValuePair<TKey, TValue>> Entries<TKey, TValue>(BroadcastState<TKey, TValue> state)
        where TKey : notnull
    {
        var entries = new List<KeyValuePair<TKey, TValue>>();
        foreach (KeyValuePair<TKey, TValue> entry in state)
        {
            entries.Add(entry);
        }

        return entries.OrderBy(entry => entry.Key).ToList();
    }

    private static long[][] ListsOfSizes(int[] sizes)
    {
        long next = 0;
        return sizes.Select(size => Enumerable.Range(0, size).Select(_ => next++).ToArray()).ToArray();
    }

    /// <summary>Writes ints like MemoryPack and fails to read one chosen value, as a corrupt or incompatible serializer would.</summary>
    private sealed class FailingOnReadSerializer : IStateSerializer<int>
    {
        public int? FailOnValue { get; set; }

        public void Serialize(in int value, IBufferWriter<byte> output) => Ints.Serialize(in value, output);

        public int Deserialize(ReadOnlySpan<byte> input)
        {
            int value = Ints.Deserialize(input);
            return value == FailOnValue ? throw new FormatException($"value {value} is not readable") : value;
        }
    }
}
