using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using Weir.Checkpointing.Snapshots;
using Weir.Checkpointing.Storage;
using Weir.Execution;
using Weir.State;
using Weir.State.Faster;
using Xunit;

namespace Weir.Runtime.Tests;

/// <summary>
/// Keyed state checkpointed through the real catalog: snapshots consistent as of the barrier while
/// the table keeps changing, incremental deltas, aborts, chain materialization, restore across
/// backends and parallelism, and damaged files.
/// </summary>
public sealed class KeyedStateCheckpointTests : IDisposable
{
    private const int MaxParallelism = 128;
    private const string OperatorId = "counts";
    private readonly string _root = Path.Combine(Path.GetTempPath(), "weir-keyed-checkpoints-" + Guid.NewGuid().ToString("N"));
    private readonly List<FasterSpillStore> _stores = new();
    private readonly CheckpointCatalog _catalog;

    public KeyedStateCheckpointTests()
        => _catalog = CheckpointCatalog.Open(new LocalCheckpointStorage(Path.Combine(_root, "checkpoints")), "job", new CheckpointRetention { RetainedCheckpoints = 2 });

    public void Dispose()
    {
        _stores.ForEach(store => store.Dispose());
        FasterSpillStore.DeleteDirectory(_root);
    }

    /// <summary>An operator with a value, a list and a map state; a key's three states follow from one version number.</summary>
    private sealed class Operator
    {
        public Operator(KeyedStateTable<long> table)
        {
            Table = table;
            Count = table.Value<long>(new StateDescriptor("count", KeyedStateKind.Value, "ValueState<long>"), MemoryPackStateSerializer<long>.Instance);
            Recent = table.List<long>(new StateDescriptor("recent", KeyedStateKind.List, "ListState<long>"), MemoryPackStateSerializer<long>.Instance);
            Pages = table.Map<int, long>(new StateDescriptor("pages", KeyedStateKind.Map, "MapState<int, long>"), MemoryPackStateSerializer<int>.Instance, MemoryPackStateSerializer<long>.Instance);
        }

        public KeyedStateTable<long> Table { get; }

        public ValueState<long> Count { get; }

        public ListState<long> Recent { get; }

        public MapState<int, long> Pages { get; }

        public void Set(long key, long version)
        {
            Table.Select(KeyGroupOf(key), in key);
            Count.Value = version;
            Recent.Clear();
            Recent.Add(version);
            Recent.Add(version + 1);
            Pages.Clear();
            Pages.Put((int)(version % 5), version);
        }

        public void Remove(long key)
        {
            Table.Select(KeyGroupOf(key), in key);
            Count.Clear();
            Recent.Clear();
            Pages.Clear();
        }

        /// <summary>Checks that the table holds exactly the keys of <paramref name="model"/> in its key groups, with their versions.</summary>
        public void AssertHolds(IReadOnlyDictionary<long, long> model)
        {
            int expected = 0;
            foreach ((long key, long version) in model)
            {
                if (!Table.KeyGroups.Contains(KeyGroupOf(key)))
                {
                    continue;
                }

                expected++;
                Table.Select(KeyGroupOf(key), in key);
                Assert.Equal(version, Count.Value);
                Assert.Equal(new[] { version, version + 1 }, Recent.Get().ToArray());
                Assert.Equal(1, Pages.Count);
                Assert.Equal(version, Pages.Get((int)(version % 5)));
            }

            Assert.Equal(expected, Table.KeyCount);
        }
    }

    private static int KeyGroupOf(long key) => KeyGroups.Of(StableHash.Of(key), MaxParallelism);

    private Operator Heap(int subtask = 0, int parallelism = 1)
        => new(new KeyedStateTable<long>(OperatorId, KeyGroups.RangeOf(subtask, parallelism, MaxParallelism), MemoryPackStateSerializer<long>.Instance));

    private Operator Faster(int subtask = 0, int parallelism = 1, int cachedKeys = 256)
    {
        var store = new FasterSpillStore(Path.Combine(_root, "faster-" + _stores.Count.ToString(CultureInfo.InvariantCulture)), FasterBytesStore.MinimumMemoryBudgetBytes, cachedKeys);
        _stores.Add(store);
        return new(new KeyedStateTable<long>(OperatorId, KeyGroups.RangeOf(subtask, parallelism, MaxParallelism), MemoryPackStateSerializer<long>.Instance, null, store));
    }

    private Operator Create(bool faster, int subtask = 0, int parallelism = 1) => faster ? Faster(subtask, parallelism) : Heap(subtask, parallelism);

    private Operator Faster(int cachedKeys) => Faster(0, 1, cachedKeys);

    /// <summary>Takes a checkpoint of every subtask (sync phase, then write), completes it and notifies them.</summary>
    private CompletedCheckpoint Checkpoint(params Operator[] subtasks)
    {
        PendingCheckpoint pending = _catalog.BeginCheckpoint(_catalog.NextCheckpointId, DateTimeOffset.UtcNow);
        foreach (Operator subtask in subtasks)
        {
            Acknowledge(pending, subtask, subtasks.Length, Array.IndexOf(subtasks, subtask), subtask.Table.Snapshot(pending.CheckpointId));
        }

        CompletedCheckpoint completed = _catalog.Complete(pending, MaxParallelism);
        foreach (Operator subtask in subtasks)
        {
            subtask.Table.NotifyCheckpointComplete(completed.CheckpointId);
        }

        return completed;
    }

    private static IReadOnlyList<SubtaskStateFile> Acknowledge(PendingCheckpoint pending, Operator subtask, int parallelism, int index, IStateSnapshot snapshot)
    {
        IReadOnlyList<SubtaskStateFile> files = snapshot.Write(new SnapshotOutput(pending, OperatorId, index, subtask.Table.KeyGroups));
        pending.Acknowledge(OperatorId, parallelism, index, subtask.Table.KeyGroups, files);
        return files;
    }

    private void Restore(CompletedCheckpoint checkpoint, Operator subtask, int index, int parallelism)
    {
        OperatorStateMetadata state = checkpoint.Metadata.Operators.Single(o => o.OperatorId == OperatorId);
        subtask.Table.Restore(new RestoredOperatorState(
            checkpoint.CheckpointId, OperatorId, index, parallelism, subtask.Table.KeyGroups, MaxParallelism,
            state.Subtasks, state.Parallelism, _catalog.OpenStateFile));
    }

    private static IReadOnlyList<SubtaskStateFile> FilesOf(CompletedCheckpoint checkpoint, int subtask = 0)
        => checkpoint.Metadata.Operators.Single(o => o.OperatorId == OperatorId).Subtasks[subtask].Files;

    private static Dictionary<long, long> Fill(Operator op, int keys, long version = 0)
    {
        var model = new Dictionary<long, long>();
        for (long key = 0; key < keys; key++)
        {
            op.Set(key, key + version);
            model[key] = key + version;
        }

        return model;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_snapshot_written_while_another_thread_mutates_the_table_holds_the_state_at_the_barrier(bool faster)
    {
        Operator source = Create(faster);
        int keys = faster ? 20_000 : 100_000;
        Dictionary<long, long> model = Fill(source, keys);
        Checkpoint(source);
        for (long key = 0; key < keys; key += 3)
        {
            source.Set(key, key + 7);
            model[key] = key + 7;
        }

        for (long key = 1; key < keys; key += 50)
        {
            source.Remove(key);
            model.Remove(key);
        }

        // Barrier of the second checkpoint (a delta); then a third after more changes (a full base, forced).
        var atBarrier = new Dictionary<long, long>(model);
        PendingCheckpoint pending = _catalog.BeginCheckpoint(_catalog.NextCheckpointId, DateTimeOffset.UtcNow);
        IStateSnapshot snapshot = source.Table.Snapshot(pending.CheckpointId);
        IReadOnlyList<SubtaskStateFile>? files = null;
        var writer = new Thread(() => files = snapshot.Write(new SnapshotOutput(pending, OperatorId, 0, source.Table.KeyGroups)));
        writer.Start();
        long mutations = MutateUntil(source, keys, () => !writer.IsAlive, seed: 1);
        writer.Join();
        pending.Acknowledge(OperatorId, 1, 0, source.Table.KeyGroups, files!);
        CompletedCheckpoint delta = _catalog.Complete(pending, MaxParallelism);
        source.Table.NotifyCheckpointComplete(delta.CheckpointId);
        Assert.True(mutations > 0);
        if (!faster)
        {
            // The processing thread reached slots before the writer did and gave it their pre-images
            // (on FASTER the few cached slots are usually written before the first change).
            Assert.True(((KeyedStateTableSnapshot)snapshot).Capture.PreImages.Length > 0, "the writer finished before any change: nothing was tested concurrently");
        }

        Operator restored = Heap();
        Restore(delta, restored, 0, 1);
        restored.AssertHolds(atBarrier);

        // The same while a full base is written (a chain allowed no deltas forces materialization).
        source.Table.MaxDeltasBeforeMaterialization = 0;
        Dictionary<long, long> atSecondBarrier = Model(source, keys);
        pending = _catalog.BeginCheckpoint(_catalog.NextCheckpointId, DateTimeOffset.UtcNow);
        snapshot = source.Table.Snapshot(pending.CheckpointId);
        writer = new Thread(() => files = snapshot.Write(new SnapshotOutput(pending, OperatorId, 0, source.Table.KeyGroups)));
        writer.Start();
        mutations = MutateUntil(source, keys, () => !writer.IsAlive, seed: 2);
        writer.Join();
        pending.Acknowledge(OperatorId, 1, 0, source.Table.KeyGroups, files!);
        CompletedCheckpoint full = _catalog.Complete(pending, MaxParallelism);
        Assert.True(mutations > 0);
        Assert.Single(FilesOf(full));
        Assert.StartsWith("keyed.base-", FilesOf(full)[0].Name, StringComparison.Ordinal);

        Operator restoredFull = Heap();
        Restore(full, restoredFull, 0, 1);
        restoredFull.AssertHolds(atSecondBarrier);
    }

    /// <summary>Changes, removes and adds keys (at least a few thousand changes) until <paramref name="done"/>.</summary>
    private static long MutateUntil(Operator op, int keys, Func<bool> done, int seed)
    {
        var random = new Random(seed);
        long mutations = 0;
        while (!done() || mutations < 5_000)
        {
            long key = random.Next(keys + (keys / 10));
            if (random.Next(10) == 0)
            {
                op.Remove(key);
            }
            else
            {
                op.Set(key, -mutations - 1);
            }

            mutations++;
        }

        return mutations;
    }

    /// <summary>Reads the table's current contents for keys [0, keys * 1.1) (the range the mutations use).</summary>
    private static Dictionary<long, long> Model(Operator op, int keys)
    {
        var model = new Dictionary<long, long>();
        for (long key = 0; key < keys + (keys / 10); key++)
        {
            op.Table.Select(KeyGroupOf(key), in key);
            if (op.Count.TryGetValue(out long version))
            {
                model[key] = version;
            }
        }

        return model;
    }

    [Fact]
    public void An_incremental_checkpoint_writes_only_changed_and_removed_keys_and_reuses_the_base()
    {
        Operator op = Heap();
        Dictionary<long, long> model = Fill(op, 10_000);
        CompletedCheckpoint first = Checkpoint(op);
        SubtaskStateFile baseFile = Assert.Single(FilesOf(first));

        for (long key = 0; key < 100; key++)
        {
            op.Set(key, 1_000_000 + key);
            model[key] = 1_000_000 + key;
        }

        // Removed keys: ten emptied in place, ten whose slots new keys take.
        for (long key = 100; key < 120; key++)
        {
            op.Remove(key);
            model.Remove(key);
        }

        for (long key = 20_000; key < 20_010; key++)
        {
            op.Set(key, key);
            model[key] = key;
        }

        CompletedCheckpoint second = Checkpoint(op);
        IReadOnlyList<SubtaskStateFile> files = FilesOf(second);
        Assert.Equal(2, files.Count);
        Assert.Equal(baseFile, files[0]);
        Assert.StartsWith("keyed.delta-", files[1].Name, StringComparison.Ordinal);

        // 100 changed, 20 removed, 10 new keys, and nothing else: about 130 of the base's 10,000 entries.
        long entries = KeyedStateSnapshot.Restore(Heap().Table, _catalog.OpenStateFile(files[1].File));
        Assert.Equal(130, entries);
        double bytesPerBaseEntry = baseFile.File.UncompressedLength / 10_000.0;
        Assert.InRange(files[1].File.UncompressedLength, 110 * bytesPerBaseEntry, (130 * bytesPerBaseEntry) + 200);

        Operator restored = Heap();
        Restore(second, restored, 0, 1);
        restored.AssertHolds(model);
    }

    [Fact]
    public void Changes_captured_for_an_aborted_checkpoint_roll_into_the_next()
    {
        Operator op = Heap();
        Dictionary<long, long> model = Fill(op, 1_000);
        Checkpoint(op);

        op.Set(1, 500);
        model[1] = 500;
        op.Remove(2);
        model.Remove(2);
        PendingCheckpoint aborted = _catalog.BeginCheckpoint(_catalog.NextCheckpointId, DateTimeOffset.UtcNow);
        Acknowledge(aborted, op, 1, 0, op.Table.Snapshot(aborted.CheckpointId));
        _catalog.Abort(aborted);
        op.Table.NotifyCheckpointAborted(aborted.CheckpointId);

        op.Set(3, 700);
        model[3] = 700;
        CompletedCheckpoint next = Checkpoint(op);
        IReadOnlyList<SubtaskStateFile> files = FilesOf(next);
        Assert.Equal(2, files.Count);
        Assert.Equal(3, KeyedStateSnapshot.Restore(Heap().Table, _catalog.OpenStateFile(files[1].File)));

        Operator restored = Heap();
        Restore(next, restored, 0, 1);
        restored.AssertHolds(model);
    }

    [Fact]
    public void A_long_chain_materializes_a_new_base_and_stays_bounded()
    {
        Operator op = Heap();
        op.Table.MaxDeltasBeforeMaterialization = 3;
        Dictionary<long, long> model = Fill(op, 2_000);
        var baseNames = new HashSet<string>();
        CompletedCheckpoint? last = null;
        for (int round = 0; round < 12; round++)
        {
            for (long key = round * 10; key < (round * 10) + 10; key++)
            {
                op.Set(key, round * 100_000 + key);
                model[key] = round * 100_000 + key;
            }

            last = Checkpoint(op);
            IReadOnlyList<SubtaskStateFile> files = FilesOf(last);
            Assert.InRange(files.Count, 1, 4);
            Assert.StartsWith("keyed.base-", files[0].Name, StringComparison.Ordinal);
            Assert.All(files.Skip(1), f => Assert.StartsWith("keyed.delta-", f.Name, StringComparison.Ordinal));
            baseNames.Add(files[0].Name);
        }

        Assert.True(baseNames.Count >= 3, $"bases: {string.Join(", ", baseNames)}");
        Operator restored = Heap();
        Restore(last!, restored, 0, 1);
        restored.AssertHolds(model);
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void Base_and_deltas_restore_on_the_other_backend(bool fromFaster, bool intoFaster)
    {
        Operator source = Create(fromFaster);
        Dictionary<long, long> model = Fill(source, 3_000);
        Checkpoint(source);
        for (long key = 0; key < 3_000; key += 7)
        {
            source.Set(key, -key);
            model[key] = -key;
        }

        Checkpoint(source);
        for (long key = 5; key < 3_000; key += 11)
        {
            source.Remove(key);
            model.Remove(key);
        }

        CompletedCheckpoint last = Checkpoint(source);
        Assert.Equal(3, FilesOf(last).Count);

        Operator restored = Create(intoFaster);
        Restore(last, restored, 0, 1);
        restored.AssertHolds(model);

        // The restored job goes on checkpointing: first a base of its own, then deltas.
        restored.Set(1, 42);
        model[1] = 42;
        CompletedCheckpoint after = Checkpoint(restored);
        Assert.Single(FilesOf(after));
        Operator again = Create(!intoFaster);
        Restore(after, again, 0, 1);
        again.AssertHolds(model);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Restore_rescales_from_one_subtask_to_two_and_back(bool faster)
    {
        Operator single = Create(faster);
        Dictionary<long, long> model = Fill(single, 4_000);
        Checkpoint(single);
        for (long key = 0; key < 4_000; key += 5)
        {
            single.Set(key, key * 3);
            model[key] = key * 3;
        }

        CompletedCheckpoint fromOne = Checkpoint(single);

        Operator[] two = { Create(faster, 0, 2), Create(!faster, 1, 2) };
        Restore(fromOne, two[0], 0, 2);
        Restore(fromOne, two[1], 1, 2);
        two[0].AssertHolds(model);
        two[1].AssertHolds(model);
        Assert.Equal(model.Count, two[0].Table.KeyCount + two[1].Table.KeyCount);

        Checkpoint(two);
        for (long key = 1; key < 4_000; key += 9)
        {
            Operator owner = two.Single(o => o.Table.KeyGroups.Contains(KeyGroupOf(key)));
            owner.Remove(key);
            model.Remove(key);
        }

        CompletedCheckpoint fromTwo = Checkpoint(two);
        Assert.All(new[] { 0, 1 }, subtask => Assert.Equal(2, FilesOf(fromTwo, subtask).Count));

        Operator merged = Create(faster);
        Restore(fromTwo, merged, 0, 1);
        merged.AssertHolds(model);
    }

    [Fact]
    public void A_damaged_state_file_fails_the_restore_with_a_CheckpointCorruptException_naming_the_file()
    {
        Operator op = Heap();
        Fill(op, 2_000);
        CompletedCheckpoint checkpoint = Checkpoint(op);
        StateFileReference file = Assert.Single(FilesOf(checkpoint)).File;
        string path = Path.Combine(_root, "checkpoints", "job", file.Path.Replace('/', Path.DirectorySeparatorChar));
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes.AsSpan(0, bytes.Length / 2).ToArray());

        var exception = Assert.Throws<CheckpointCorruptException>(() => Restore(checkpoint, Heap(), 0, 1));
        Assert.Contains(file.Path, exception.FilePath, StringComparison.Ordinal);
        Assert.Contains(file.Path, exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_keyed_stream_that_ends_early_names_the_file_and_the_operator()
    {
        Operator op = Heap();
        Fill(op, 100);
        var stream = new MemoryStream();
        KeyedStateSnapshot.Write(op.Table, op.Table.KeyGroups, stream);
        var truncated = new MemoryStream(stream.ToArray().AsSpan(0, (int)stream.Length - 40).ToArray());

        var exception = Assert.Throws<CheckpointCorruptException>(() => KeyedStateSnapshot.Restore(Heap().Table, truncated, "shared/counts-0-keyed.base-1"));
        Assert.Equal("shared/counts-0-keyed.base-1", exception.FilePath);
        Assert.Equal(CheckpointCorruption.Truncated, exception.Problem);
        Assert.Contains($"operator '{OperatorId}'", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_restore_refuses_a_checkpoint_whose_state_list_differs()
    {
        Operator op = Heap();
        Fill(op, 10);
        CompletedCheckpoint checkpoint = Checkpoint(op);
        var other = new KeyedStateTable<long>(OperatorId, KeyGroups.RangeOf(0, 1, MaxParallelism), MemoryPackStateSerializer<long>.Instance);
        other.Value<long>(new StateDescriptor("count", KeyedStateKind.Value, "ValueState<long>"), MemoryPackStateSerializer<long>.Instance);

        OperatorStateMetadata state = checkpoint.Metadata.Operators.Single();
        var exception = Assert.Throws<StateSnapshotException>(() => other.Restore(new RestoredOperatorState(
            checkpoint.CheckpointId, OperatorId, 0, 1, other.KeyGroups, MaxParallelism, state.Subtasks, 1, _catalog.OpenStateFile)));
        Assert.Contains("recent", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_FASTER_full_base_holds_compaction_until_it_has_read_the_log()
    {
        Operator op = Faster(cachedKeys: 16);
        FasterSpillStore store = _stores[^1];
        Dictionary<long, long> atBarrier = Fill(op, 5_000);
        PendingCheckpoint pending = _catalog.BeginCheckpoint(_catalog.NextCheckpointId, DateTimeOffset.UtcNow);
        IStateSnapshot snapshot = op.Table.Snapshot(pending.CheckpointId);
        int compactions = store.Compactions;
        long logAtBarrier = store.Bytes.LogBytes;

        // Every key of the barrier rewritten or removed, and many new keys (each record evicts another
        // key to the store): the log grows well past the size that triggers compaction, which would
        // drop the versions the base still needs.
        for (long key = 0; key < 5_000; key++)
        {
            if (key % 4 == 0)
            {
                op.Remove(key);
            }
            else
            {
                op.Set(key, -key);
            }
        }

        for (long key = 5_000; key < 150_000; key++)
        {
            op.Set(key, key);
        }

        Assert.True(store.Bytes.LogBytes > 4 * Math.Max(logAtBarrier, FasterBytesStore.MinimumMemoryBudgetBytes), $"log of {store.Bytes.LogBytes} bytes");
        Assert.Equal(compactions, store.Compactions);
        Assert.Equal(1, store.CompactionHolds);

        Acknowledge(pending, op, 1, 0, snapshot);
        CompletedCheckpoint checkpoint = _catalog.Complete(pending, MaxParallelism);
        op.Table.NotifyCheckpointComplete(checkpoint.CheckpointId);
        Assert.Equal(0, store.CompactionHolds);

        Operator restored = Heap();
        Restore(checkpoint, restored, 0, 1);
        restored.AssertHolds(atBarrier);

        op.Set(0, 1);
        op.Set(1, 1);
        Assert.True(store.Compactions > compactions, "compaction did not resume after the hold");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_synchronous_phase_copies_no_state_and_allocates_the_same_whatever_the_key_count(bool full)
    {
        long small = SyncPhaseAllocation(2_000, full);
        long large = SyncPhaseAllocation(200_000, full);

        // A handful of small objects (snapshot, capture, arrays of a few entries); no per-key work.
        Assert.InRange(large, 1, 4_096);
        Assert.InRange(large - small, -256, 256);
    }

    private long SyncPhaseAllocation(int keys, bool full)
    {
        Operator op = Heap();
        Fill(op, keys);
        Checkpoint(op);
        for (long key = 0; key < keys; key += 100)
        {
            op.Set(key, -key);
        }

        op.Table.MaxDeltasBeforeMaterialization = full ? 0 : 8;
        long before = GC.GetAllocatedBytesForCurrentThread();
        IStateSnapshot snapshot = op.Table.Snapshot(_catalog.NextCheckpointId);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // Nothing was serialized at the barrier: no pre-image exists until a slot changes.
        Assert.Equal(0, ((KeyedStateTableSnapshot)snapshot).Capture.PreImages.Length);
        op.Table.NotifyCheckpointAborted(_catalog.NextCheckpointId);
        return allocated;
    }
}
