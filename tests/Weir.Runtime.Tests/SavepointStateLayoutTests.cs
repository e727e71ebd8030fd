using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Weir.Checkpointing.Snapshots;
using Weir.Checkpointing.Storage;
using Weir.Execution;
using Weir.Hosting.Inspection;
using Weir.State;
using Weir.State.Faster;
using Xunit;

namespace Weir.Runtime.Tests;

/// <summary>
/// The savepoint layout operator → state name → key-group range (docs/savepoints.md): one keyed file
/// per state and subtask, restored by merging the states' files by key at another parallelism and
/// on another backend; old savepoints with every state in one file; removed states; inspect.
/// </summary>
public sealed class SavepointStateLayoutTests : IDisposable
{
    private const int MaxParallelism = 128;
    private const string OperatorId = "sensors";
    private readonly string _root = Path.Combine(Path.GetTempPath(), "weir-savepoint-layout-" + Guid.NewGuid().ToString("N"));
    private readonly List<FasterSpillStore> _stores = new();
    private readonly CheckpointCatalog _catalog;

    public SavepointStateLayoutTests()
        => _catalog = CheckpointCatalog.Open(new LocalCheckpointStorage(Path.Combine(_root, "checkpoints")), "job", new CheckpointRetention { RetainedCheckpoints = 2 });

    public void Dispose()
    {
        _stores.ForEach(store => store.Dispose());
        FasterSpillStore.DeleteDirectory(_root);
    }

    /// <summary>Two user states and an internal one; not every key holds every state.</summary>
    private sealed class Operator
    {
        public Operator(KeyedStateTable<long> table, bool withReadings = true)
        {
            Table = table;
            Count = table.Value<long>(new StateDescriptor("count", KeyedStateKind.Value, "ValueState<long>"), MemoryPackStateSerializer<long>.Instance);
            if (withReadings)
            {
                Readings = table.List<long>(new StateDescriptor("last readings", KeyedStateKind.List, "ListState<long>"), MemoryPackStateSerializer<long>.Instance);
            }

            Timers = table.Map<long, long>(new StateDescriptor("__timers", KeyedStateKind.Map, "MapState<long, long>"), MemoryPackStateSerializer<long>.Instance, MemoryPackStateSerializer<long>.Instance);
        }

        public KeyedStateTable<long> Table { get; }

        public ValueState<long> Count { get; }

        public ListState<long>? Readings { get; }

        public MapState<long, long> Timers { get; }

        /// <summary>Key k holds a count; readings when k % 3 != 0; a timer when k % 4 == 0.</summary>
        public void Set(long key)
        {
            Table.Select(KeyGroupOf(key), in key);
            Count.Value = key * 10;
            if (key % 3 != 0)
            {
                Readings!.Add(key);
                Readings.Add(key + 1);
            }

            if (key % 4 == 0)
            {
                Timers.Put(key + 1000, key);
            }
        }

        /// <summary>Checks every key of <paramref name="keys"/> in this subtask's key groups, state by state.</summary>
        public void AssertHolds(int keys, bool readings = true)
        {
            int expected = 0;
            for (long key = 0; key < keys; key++)
            {
                if (!Table.KeyGroups.Contains(KeyGroupOf(key)))
                {
                    continue;
                }

                expected++;
                Table.Select(KeyGroupOf(key), in key);
                Assert.Equal(key * 10, Count.Value);
                if (readings)
                {
                    Assert.Equal(key % 3 != 0 ? new[] { key, key + 1 } : Array.Empty<long>(), Readings!.Get().ToArray());
                }

                Assert.Equal(key % 4 == 0 ? 1 : 0, Timers.Count);
                if (key % 4 == 0)
                {
                    Assert.Equal(key, Timers.Get(key + 1000));
                }
            }

            Assert.Equal(expected, Table.KeyCount);
        }
    }

    private static int KeyGroupOf(long key) => KeyGroups.Of(StableHash.Of(key), MaxParallelism);

    private Operator Create(bool faster, int subtask, int parallelism, bool withReadings = true)
    {
        KeyGroupRange range = KeyGroups.RangeOf(subtask, parallelism, MaxParallelism);
        if (!faster)
        {
            return new Operator(new KeyedStateTable<long>(OperatorId, range, MemoryPackStateSerializer<long>.Instance), withReadings);
        }

        // Few cached keys: restoring a key's second state must merge with the first one spilled to the store.
        var store = new FasterSpillStore(Path.Combine(_root, "faster-" + _stores.Count.ToString(CultureInfo.InvariantCulture)), FasterBytesStore.MinimumMemoryBudgetBytes, cachedKeys: 32);
        _stores.Add(store);
        return new Operator(new KeyedStateTable<long>(OperatorId, range, MemoryPackStateSerializer<long>.Instance, null, store), withReadings);
    }

    private Operator[] Filled(bool faster, int parallelism, int keys)
    {
        var subtasks = Enumerable.Range(0, parallelism).Select(i => Create(faster, i, parallelism)).ToArray();
        for (long key = 0; key < keys; key++)
        {
            subtasks.Single(s => s.Table.KeyGroups.Contains(KeyGroupOf(key))).Set(key);
        }

        return subtasks;
    }

    private string Savepoint(params Operator[] subtasks)
    {
        string directory = Path.Combine(_root, "savepoint-" + _catalog.NextCheckpointId.ToString(CultureInfo.InvariantCulture));
        PendingCheckpoint pending = _catalog.BeginSavepoint(_catalog.NextCheckpointId, DateTimeOffset.UtcNow, directory);
        for (int index = 0; index < subtasks.Length; index++)
        {
            IStateSnapshot snapshot = subtasks[index].Table.Snapshot(pending.CheckpointId, SnapshotKind.Savepoint);
            IReadOnlyList<SubtaskStateFile> files = snapshot.Write(new SnapshotOutput(pending, OperatorId, index, subtasks[index].Table.KeyGroups));
            pending.Acknowledge(OperatorId, subtasks.Length, index, subtasks[index].Table.KeyGroups, files);
        }

        _catalog.Complete(pending, MaxParallelism);
        return directory;
    }

    private static void Restore(string savepointDirectory, Operator subtask, int index, int parallelism, bool allowNonRestoredState = false)
    {
        CompletedCheckpoint savepoint = CheckpointCatalog.ReadSavepoint(savepointDirectory);
        OperatorStateMetadata state = savepoint.Metadata.Operators.Single(o => o.OperatorId == OperatorId);
        subtask.Table.Restore(new RestoredOperatorState(
            savepoint.CheckpointId, OperatorId, index, parallelism, subtask.Table.KeyGroups, MaxParallelism,
            state.Subtasks, state.Parallelism, file => CheckpointCatalog.OpenSavepointFile(savepointDirectory, file))
        {
            AllowNonRestoredState = allowNonRestoredState,
        });
    }

    private static string OperatorDirectory(string savepoint) => Path.Combine(savepoint, OperatorIds.Hash(OperatorId).ToString("x16", CultureInfo.InvariantCulture));

    [Fact]
    public void A_savepoint_holds_one_keyed_file_per_state_and_subtask_and_its_metadata_names_each_files_state()
    {
        Operator[] subtasks = Filled(faster: false, parallelism: 2, keys: 500);
        string savepoint = Savepoint(subtasks);

        string keyed = Path.Combine(OperatorDirectory(savepoint), "keyed");
        string spaced = CheckpointLayout.StateDirectoryName("last readings");
        Assert.StartsWith("last_readings-", spaced, StringComparison.Ordinal);
        Assert.Equal(
            new[] { "__timers", "count", spaced }.SelectMany(state => new[] { $"{state}/subtask-0.state", $"{state}/subtask-1.state" }).Order(StringComparer.Ordinal),
            Directory.GetFiles(keyed, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(keyed, f).Replace('\\', '/')).Order(StringComparer.Ordinal));

        // _metadata: version 2 (it names states), every keyed file with its state name and its subtask's range.
        Assert.StartsWith("WEIR-CHECKPOINT-METADATA 2 ", File.ReadAllText(Path.Combine(savepoint, CheckpointLayout.MetadataFileName)), StringComparison.Ordinal);
        CompletedCheckpoint read = CheckpointCatalog.ReadSavepoint(savepoint);
        Assert.Equal(2, read.Metadata.FormatVersion);
        OperatorStateMetadata op = read.Metadata.Operators.Single();
        foreach (SubtaskStateMetadata subtask in op.Subtasks)
        {
            Assert.Equal(subtasks[subtask.SubtaskIndex].Table.KeyGroups, subtask.KeyGroups);
            Assert.Equal(new[] { "count", "last readings", "__timers" }, subtask.Files.Select(f => f.StateName));
            Assert.All(subtask.Files, f => Assert.Equal(KeyedStateStore.CheckpointStateKind, f.Name));
            Assert.Equal(
                subtask.Files.Select(f => $"{OperatorIds.Hash(OperatorId):x16}/keyed/{CheckpointLayout.StateDirectoryName(f.StateName!)}/subtask-{subtask.SubtaskIndex}.state"),
                subtask.Files.Select(f => f.File.Path));
        }

        // Checkpoints keep one file of every state and metadata version 1.
        PendingCheckpoint pending = _catalog.BeginCheckpoint(_catalog.NextCheckpointId, DateTimeOffset.UtcNow);
        IReadOnlyList<SubtaskStateFile> files = subtasks[0].Table.Snapshot(pending.CheckpointId).Write(new SnapshotOutput(pending, OperatorId, 0, subtasks[0].Table.KeyGroups));
        pending.Acknowledge(OperatorId, 1, 0, subtasks[0].Table.KeyGroups, files);
        CompletedCheckpoint checkpoint = _catalog.Complete(pending, MaxParallelism);
        Assert.Null(Assert.Single(checkpoint.Metadata.Operators.Single().Subtasks.Single().Files).StateName);
        Assert.Equal(1, checkpoint.Metadata.FormatVersion);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void Per_state_files_restore_merged_by_key_from_parallelism_2_into_3_on_either_backend(bool fromFaster, bool intoFaster)
    {
        const int Keys = 2_000;
        Operator[] source = Filled(fromFaster, parallelism: 2, keys: Keys);
        string savepoint = Savepoint(source);

        // The source keeps changing after the savepoint: the savepoint holds the state as of its barrier.
        source[0].Set(Keys + 1);

        for (int index = 0; index < 3; index++)
        {
            Operator restored = Create(intoFaster, index, 3);
            Restore(savepoint, restored, index, 3);
            restored.AssertHolds(Keys);
        }
    }

    [Fact]
    public void A_savepoint_of_the_old_layout_with_every_state_in_one_file_still_restores()
    {
        // A checkpoint's full base is what savepoints held before the split (KeyedStateSnapshot
        // format 2, content full, every state): written into a savepoint directory with metadata
        // format 1, as an older Weir wrote it.
        Operator[] source = Filled(faster: false, parallelism: 2, keys: 800);
        PendingCheckpoint pending = _catalog.BeginCheckpoint(_catalog.NextCheckpointId, DateTimeOffset.UtcNow);
        var subtaskMetadata = new List<SubtaskStateMetadata>();
        string savepoint = Path.Combine(_root, "old-savepoint");
        for (int index = 0; index < source.Length; index++)
        {
            StateFileReference written = source[index].Table.Snapshot(pending.CheckpointId).Write(new SnapshotOutput(pending, OperatorId, index, source[index].Table.KeyGroups)).Single().File;
            string relative = CheckpointLayout.SavepointStateFile(OperatorId, index, KeyedStateStore.CheckpointStateKind);
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(savepoint, relative))!);
            File.Copy(Path.Combine(_root, "checkpoints", "job", written.Path), Path.Combine(savepoint, relative));
            subtaskMetadata.Add(new SubtaskStateMetadata
            {
                SubtaskIndex = index,
                KeyGroups = source[index].Table.KeyGroups,
                Files = [new SubtaskStateFile(KeyedStateStore.CheckpointStateKind, written with { Path = relative })],
            });
        }

        var metadata = new CheckpointMetadata
        {
            JobName = "job",
            CheckpointId = 41,
            TriggerTime = DateTimeOffset.UtcNow,
            CompletionTime = DateTimeOffset.UtcNow,
            MaxParallelism = MaxParallelism,
            Savepoint = true,
            Operators = [new OperatorStateMetadata { OperatorId = OperatorId, Parallelism = 2, Subtasks = subtaskMetadata }],
        };
        File.WriteAllBytes(Path.Combine(savepoint, CheckpointLayout.MetadataFileName), CheckpointMetadataFormat.Serialize(metadata));
        Assert.StartsWith("WEIR-CHECKPOINT-METADATA 1 ", File.ReadAllText(Path.Combine(savepoint, CheckpointLayout.MetadataFileName)), StringComparison.Ordinal);

        for (int index = 0; index < 3; index++)
        {
            Operator restored = Create(faster: index == 1, index, 3);
            Restore(savepoint, restored, index, 3);
            restored.AssertHolds(800);
        }
    }

    [Fact]
    public void A_state_the_operator_no_longer_declares_is_refused_by_name_unless_non_restored_state_is_allowed()
    {
        string savepoint = Savepoint(Filled(faster: false, parallelism: 1, keys: 300));

        Operator without = Create(faster: false, 0, 1, withReadings: false);
        StateSnapshotException refused = Assert.Throws<StateSnapshotException>(() => Restore(savepoint, without, 0, 1));
        Assert.Contains("'last readings'", refused.Message, StringComparison.Ordinal);
        Assert.Contains($"operator '{OperatorId}'", refused.Message, StringComparison.Ordinal);
        Assert.Contains("--allow-non-restored-state", refused.Message, StringComparison.Ordinal);
        Assert.Equal(0, without.Table.KeyCount);

        Operator allowed = Create(faster: true, 0, 1, withReadings: false);
        Restore(savepoint, allowed, 0, 1, allowNonRestoredState: true);
        allowed.AssertHolds(300, readings: false);
    }

    [Fact]
    public void A_state_new_to_the_operator_starts_empty_while_the_others_restore()
    {
        Operator[] source = [Create(faster: false, 0, 1, withReadings: false)];
        for (long key = 0; key < 200; key++)
        {
            source[0].Table.Select(KeyGroupOf(key), in key);
            source[0].Count.Value = key * 10;
        }

        string savepoint = Savepoint(source);
        Operator restored = Create(faster: false, 0, 1);
        Restore(savepoint, restored, 0, 1);
        for (long key = 0; key < 200; key++)
        {
            restored.Table.Select(KeyGroupOf(key), in key);
            Assert.Equal(key * 10, restored.Count.Value);
            Assert.Equal(0, restored.Readings!.Get().Length);
        }
    }

    [Fact]
    public void Inspect_lists_each_state_of_a_savepoint_and_dumps_one_state_from_its_files_alone()
    {
        string savepoint = Savepoint(Filled(faster: false, parallelism: 2, keys: 100));

        StateSummary summary = StateInspector.Open(savepoint).Summarize();
        SubtaskSummary first = summary.Operators.Single().Subtasks[0];
        Assert.Null(first.Problem);
        Assert.Equal(new[] { "count", "last readings", "__timers" }, first.Pieces.Select(p => p.State));
        Assert.Equal(new[] { "count", "last readings", "__timers" }, first.KeyedStates!.Select(c => c.Name));
        string text = StateInspector.ToText(summary);
        Assert.Contains("keyed 'last readings'", text, StringComparison.Ordinal);

        // The other states' files are gone: dumping 'count' must not need them.
        foreach (string other in new[] { "__timers", CheckpointLayout.StateDirectoryName("last readings") })
        {
            Directory.Delete(Path.Combine(OperatorDirectory(savepoint), "keyed", other), recursive: true);
        }

        var output = new StringWriter();
        StateInspector.Open(savepoint).Dump(OperatorId, "count", limit: null, output);
        using var json = System.Text.Json.JsonDocument.Parse(output.ToString());
        var entries = json.RootElement.GetProperty("subtasks").EnumerateArray().SelectMany(s => s.GetProperty("entries").EnumerateArray()).ToList();
        Assert.Equal(100, entries.Count);
        Assert.All(entries, e => Assert.Equal(["count"], e.GetProperty("states").EnumerateObject().Select(p => p.Name)));
        Assert.Contains(entries, e => e.GetProperty("states").GetProperty("count").ToString() == "990");

        // The whole operator needs them all, and says which file is missing.
        CheckpointCorruptException missing = Assert.Throws<CheckpointCorruptException>(() => StateInspector.Open(savepoint).Dump(OperatorId, null, limit: null, new StringWriter()));
        Assert.Equal(CheckpointCorruption.Missing, missing.Problem);
    }
}
