using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Weir.Benchmarks.KeyedCount;
using Weir.Checkpointing.Snapshots;
using Weir.Checkpointing.Storage;
using Weir.Execution;
using Weir.State;

namespace Weir.Benchmarks.CheckpointState;

/// <summary>Command-line options of <c>checkpoint-state</c>.</summary>
public sealed record CheckpointStateOptions(long Keys, int Checkpoints, long RestoreKeys, int ValueBytes, string Directory)
{
    /// <summary>Parses <c>[--keys K] [--checkpoints C] [--restore-keys R] [--value-bytes B] [--dir D]</c>.</summary>
    public static CheckpointStateOptions Parse(ReadOnlySpan<string> args)
    {
        long keys = 1_000_000, restoreKeys = 8_000_000;
        int checkpoints = 20, valueBytes = 120;
        string directory = Path.Combine(Path.GetTempPath(), "weir-checkpoint-state-bench");
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            if (i + 1 >= args.Length)
            {
                throw new ArgumentException($"Option '{name}' needs a value.");
            }

            string value = args[++i];
            switch (name)
            {
                case "--keys": keys = KeyedCountOptions.ParseCount(name, value, min: 100); break;
                case "--checkpoints": checkpoints = checked((int)KeyedCountOptions.ParseCount(name, value, min: 2)); break;
                case "--restore-keys": restoreKeys = KeyedCountOptions.ParseCount(name, value, min: 1); break;
                case "--value-bytes": valueBytes = checked((int)KeyedCountOptions.ParseCount(name, value, min: 1)); break;
                case "--dir": directory = value; break;
                default: throw new ArgumentException($"Unknown option '{name}'.");
            }
        }

        return new CheckpointStateOptions(keys, checkpoints, restoreKeys, valueBytes, directory);
    }
}

/// <summary>
/// Checkpoints of heap keyed state, in one run: (a) the synchronous pause of each checkpoint of a
/// keyed count over <c>--keys</c> keys while records keep flowing (the write runs on a thread-pool
/// thread), (b) the bytes an incremental checkpoint writes when 1% of the keys changed, against the
/// changed keys' raw key and value bytes, and (c) the time to restore a large state (<c>--restore-keys</c>
/// keys of <c>--value-bytes</c>-byte values) against the time to write it.
/// </summary>
public static class CheckpointStateBenchmark
{
    private const int MaxParallelism = 128;
    private const string OperatorId = "counts";

    public static int Run(CheckpointStateOptions options)
    {
        if (Directory.Exists(options.Directory))
        {
            Directory.Delete(options.Directory, recursive: true);
        }

        try
        {
            var rows = new List<(string Measure, string Value)>();
            MeasurePauses(options, rows);
            MeasureDelta(options, rows);
            MeasureRestore(options, rows);

            int width = rows.Max(r => r.Measure.Length);
            Console.WriteLine();
            Console.WriteLine($"{"measure".PadRight(width)}  value");
            Console.WriteLine($"{new string('-', width)}  {new string('-', 40)}");
            foreach ((string measure, string value) in rows)
            {
                Console.WriteLine($"{measure.PadRight(width)}  {value}");
            }

            return 0;
        }
        finally
        {
            if (Directory.Exists(options.Directory))
            {
                Directory.Delete(options.Directory, recursive: true);
            }
        }
    }

    private static CheckpointCatalog OpenCatalog(CheckpointStateOptions options, string name)
        => CheckpointCatalog.Open(new LocalCheckpointStorage(Path.Combine(options.Directory, name)), name);

    private static (KeyedStateTable<long> Table, ValueState<long> Count) CountTable()
    {
        var table = new KeyedStateTable<long>(OperatorId, KeyGroups.RangeOf(0, 1, MaxParallelism), MemoryPackStateSerializer<long>.Instance);
        ValueState<long> count = table.Value<long>(new StateDescriptor("count", KeyedStateKind.Value, "ValueState<long>"), MemoryPackStateSerializer<long>.Instance);
        return (table, count);
    }

    /// <summary>One record of the keyed count, as generated code runs it.</summary>
    private static void Count(KeyedStateTable<long> table, ValueState<long> count, long key)
    {
        if (!table.TrySelect(in key))
        {
            table.SelectNew(KeyGroups.Of(StableHash.Of(key), MaxParallelism), in key);
        }

        count.Value++;
    }

    /// <summary>Writes a snapshot on this thread and completes its checkpoint; returns the files.</summary>
    private static (CompletedCheckpoint Checkpoint, IReadOnlyList<SubtaskStateFile> Files) WriteAndComplete(CheckpointCatalog catalog, PendingCheckpoint pending, IStateSnapshot snapshot, KeyGroupRange range)
    {
        IReadOnlyList<SubtaskStateFile> files = snapshot.Write(new SnapshotOutput(pending, OperatorId, 0, range));
        pending.Acknowledge(OperatorId, 1, 0, range, files);
        return (catalog.Complete(pending, MaxParallelism), files);
    }

    /// <summary>(a) Records flow; every 1% of the keys a checkpoint's synchronous phase is timed, and its write runs concurrently.</summary>
    private static void MeasurePauses(CheckpointStateOptions options, List<(string, string)> rows)
    {
        CheckpointCatalog catalog = OpenCatalog(options, "pauses");

        // Warm-up on a small table, so the first measured pause is not the JIT compiling the path.
        (KeyedStateTable<long> warm, ValueState<long> warmCount) = CountTable();
        for (long key = 0; key < 1_000; key++)
        {
            Count(warm, warmCount, key);
        }

        for (int i = 0; i < 3; i++)
        {
            PendingCheckpoint warmPending = catalog.BeginCheckpoint(catalog.NextCheckpointId, DateTimeOffset.UtcNow);
            (CompletedCheckpoint warmCompleted, _) = WriteAndComplete(catalog, warmPending, warm.Snapshot(warmPending.CheckpointId), warm.KeyGroups);
            warm.NotifyCheckpointComplete(warmCompleted.CheckpointId);
            Count(warm, warmCount, i);
        }

        (KeyedStateTable<long> table, ValueState<long> count) = CountTable();
        for (long key = 0; key < options.Keys; key++)
        {
            Count(table, count, key);
        }

        long perInterval = Math.Max(1, options.Keys / 100);
        long next = 0;
        long records = options.Keys;
        var pauses = new List<double>();
        int deltas = 0;
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < options.Checkpoints + 1; i++)
        {
            for (long n = 0; n < perInterval; n++)
            {
                Count(table, count, next);
                next = next + 1 == options.Keys ? 0 : next + 1;
                records++;
            }

            PendingCheckpoint pending = catalog.BeginCheckpoint(catalog.NextCheckpointId, DateTimeOffset.UtcNow);
            long started = Stopwatch.GetTimestamp();
            IStateSnapshot snapshot = table.Snapshot(pending.CheckpointId);
            double pause = Stopwatch.GetElapsedTime(started).TotalMilliseconds;

            // The first checkpoint (the initial base) is reported apart.
            if (i > 0)
            {
                pauses.Add(pause);
            }
            else
            {
                rows.Add(("(a) sync pause, first checkpoint of the table (full base)", $"{pause:F3} ms"));
            }

            Task<(CompletedCheckpoint Checkpoint, IReadOnlyList<SubtaskStateFile> Files)> write =
                Task.Run(() => WriteAndComplete(catalog, pending, snapshot, table.KeyGroups));
            while (!write.IsCompleted)
            {
                Count(table, count, next);
                next = next + 1 == options.Keys ? 0 : next + 1;
                records++;
            }

            (CompletedCheckpoint completed, IReadOnlyList<SubtaskStateFile> files) = write.Result;
            deltas += i > 0 && files.Count > 1 ? 1 : 0;
            table.NotifyCheckpointComplete(completed.CheckpointId);
        }

        pauses.Sort();
        rows.Add(($"(a) sync pause at {options.Keys:N0} keys, {pauses.Count} checkpoints ({deltas} deltas, {pauses.Count - deltas} bases)",
            $"median {pauses[pauses.Count / 2]:F3} ms, max {pauses[^1]:F3} ms"));
        rows.Add(("(a) records processed meanwhile", $"{records:N0} in {clock.Elapsed.TotalSeconds:F1} s"));
    }

    /// <summary>(b) Exactly 1% of the keys change between two checkpoints: what the delta costs.</summary>
    private static void MeasureDelta(CheckpointStateOptions options, List<(string, string)> rows)
    {
        CheckpointCatalog catalog = OpenCatalog(options, "delta");
        (KeyedStateTable<long> table, ValueState<long> count) = CountTable();
        for (long key = 0; key < options.Keys; key++)
        {
            Count(table, count, key);
        }

        PendingCheckpoint first = catalog.BeginCheckpoint(catalog.NextCheckpointId, DateTimeOffset.UtcNow);
        (CompletedCheckpoint baseCheckpoint, IReadOnlyList<SubtaskStateFile> baseFiles) = WriteAndComplete(catalog, first, table.Snapshot(first.CheckpointId), table.KeyGroups);
        table.NotifyCheckpointComplete(baseCheckpoint.CheckpointId);

        long changed = options.Keys / 100;
        for (long key = 0; key < options.Keys; key += options.Keys / changed)
        {
            Count(table, count, key);
        }

        PendingCheckpoint second = catalog.BeginCheckpoint(catalog.NextCheckpointId, DateTimeOffset.UtcNow);
        (_, IReadOnlyList<SubtaskStateFile> files) = WriteAndComplete(catalog, second, table.Snapshot(second.CheckpointId), table.KeyGroups);
        StateFileReference delta = files[^1].File;
        long raw = changed * (sizeof(long) + sizeof(long));
        rows.Add(("(b) base checkpoint", $"{baseFiles[0].File.StoredLength:N0} B stored ({baseFiles[0].File.UncompressedLength:N0} B before compression)"));
        rows.Add(($"(b) delta, {changed:N0} of {options.Keys:N0} keys changed", $"{delta.StoredLength:N0} B stored ({delta.UncompressedLength:N0} B before compression), {files.Count} files in the chain"));
        rows.Add(("(b) delta / raw changed key+value bytes", $"{(double)delta.StoredLength / raw:F2} stored, {(double)delta.UncompressedLength / raw:F2} uncompressed (raw {raw:N0} B)"));
    }

    /// <summary>(c) A large state: time to write a full checkpoint of it and to restore it.</summary>
    private static void MeasureRestore(CheckpointStateOptions options, List<(string, string)> rows)
    {
        CheckpointCatalog catalog = OpenCatalog(options, "restore");
        KeyGroupRange range = KeyGroups.RangeOf(0, 1, MaxParallelism);
        var descriptor = new StateDescriptor("payload", KeyedStateKind.Value, "ValueState<byte[]>");
        CompletedCheckpoint completed;
        TimeSpan writeTime;
        TimeSpan serializeTime;
        long payloadBytes = options.RestoreKeys * (sizeof(long) + options.ValueBytes);
        {
            var table = new KeyedStateTable<long>(OperatorId, range, MemoryPackStateSerializer<long>.Instance);
            ValueState<byte[]> payload = table.Value(descriptor, MemoryPackArrayStateSerializer<byte>.Instance);
            var random = new Random(7);
            for (long key = 0; key < options.RestoreKeys; key++)
            {
                byte[] value = new byte[options.ValueBytes];
                random.NextBytes(value);
                table.Select(KeyGroups.Of(StableHash.Of(key), MaxParallelism), in key);
                payload.Value = value;
            }

            // The same keys serialized to nowhere: what the write costs without compression and storage.
            var serializeClock = Stopwatch.StartNew();
            KeyedStateSnapshot.Write(table, range, Stream.Null);
            serializeTime = serializeClock.Elapsed;

            PendingCheckpoint pending = catalog.BeginCheckpoint(catalog.NextCheckpointId, DateTimeOffset.UtcNow);
            var clock = Stopwatch.StartNew();
            IStateSnapshot snapshot = table.Snapshot(pending.CheckpointId);
            (completed, _) = WriteAndComplete(catalog, pending, snapshot, range);
            writeTime = clock.Elapsed;
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        var restored = new KeyedStateTable<long>(OperatorId, range, MemoryPackStateSerializer<long>.Instance);
        restored.Value(descriptor, MemoryPackArrayStateSerializer<byte>.Instance);
        OperatorStateMetadata state = completed.Metadata.Operators.Single();
        var restoreClock = Stopwatch.StartNew();
        restored.Restore(new RestoredOperatorState(completed.CheckpointId, OperatorId, 0, 1, range, MaxParallelism, state.Subtasks, 1, catalog.OpenStateFile));
        TimeSpan restoreTime = restoreClock.Elapsed;
        if (restored.KeyCount != options.RestoreKeys)
        {
            throw new InvalidOperationException($"Restored {restored.KeyCount} keys, expected {options.RestoreKeys}.");
        }

        StateFileReference file = state.Subtasks[0].Files[0].File;
        rows.Add(($"(c) state: {options.RestoreKeys:N0} keys, {options.ValueBytes}-byte values", $"{payloadBytes / 1e9:F2} GB key+value bytes, file {file.StoredLength / 1e9:F2} GB stored"));
        rows.Add(("(c) write (full base, sync + async)", $"{writeTime.TotalSeconds:F1} s ({payloadBytes / 1e6 / writeTime.TotalSeconds:F0} MB/s)"));
        rows.Add(("(c) serialization alone (to Stream.Null)", $"{serializeTime.TotalSeconds:F1} s"));
        rows.Add(("(c) restore", $"{restoreTime.TotalSeconds:F1} s ({payloadBytes / 1e6 / restoreTime.TotalSeconds:F0} MB/s), {restoreTime / writeTime:F2}x the write"));
    }
}
