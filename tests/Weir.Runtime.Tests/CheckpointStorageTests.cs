using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.Extensions.Logging;
using Weir.Checkpointing.Storage;
using Weir.Execution;
using Xunit;

namespace Weir.Runtime.Tests;

public sealed class CheckpointStorageTests : IDisposable
{
    private const string Job = "wordcount";

    private readonly string _root = Path.Combine(Path.GetTempPath(), "weir-ckstore-tests-" + Guid.NewGuid().ToString("N"));
    private readonly LocalCheckpointStorage _storage;
    private readonly RecordingLogger _log = new();

    public CheckpointStorageTests() => _storage = new LocalCheckpointStorage(_root);

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    // ---- state files ----

    [Fact]
    public void Large_state_round_trips_streaming_and_verifies()
    {
        const int length = 50 << 20;
        byte[] chunk = new byte[1 << 20];
        StateFileReference written;
        using (StateFileWriter writer = StateFileWriter.Create(_storage, "big.state"))
        {
            var fill = new Random(7);
            for (int i = 0; i < length / chunk.Length; i++)
            {
                FillHalfRandom(fill, chunk);
                writer.Stream.Write(chunk);
            }

            written = writer.Commit();
        }

        Assert.Equal(length, written.UncompressedLength);
        Assert.Equal(new FileInfo(Path.Combine(_root, "big.state")).Length, written.StoredLength);
        Assert.Equal(written, StateFileReader.Verify(_storage, "big.state", written));

        var expected = new Random(7);
        byte[] expectedChunk = new byte[chunk.Length];
        using Stream read = StateFileReader.Open(_storage, "big.state", written);
        for (int i = 0; i < length / chunk.Length; i++)
        {
            FillHalfRandom(expected, expectedChunk);
            read.ReadExactly(chunk);
            Assert.True(expectedChunk.AsSpan().SequenceEqual(chunk), $"chunk {i} differs");
        }

        Assert.Equal(0, read.Read(chunk));
    }

    [Theory]
    [InlineData(StateFileCodec.Zstd)]
    [InlineData(StateFileCodec.None)]
    public void Empty_state_round_trips(StateFileCodec codec)
    {
        StateFileReference written = Write("empty.state", [], codec);

        Assert.Equal(0, written.UncompressedLength);
        Assert.Empty(ReadAll("empty.state", written));
        StateFileReader.Verify(_storage, "empty.state", written);
    }

    [Fact]
    public void Uncompressed_codec_round_trips()
    {
        byte[] state = Enumerable.Range(0, 100_000).Select(i => (byte)(i * 7)).ToArray();
        StateFileReference written = Write("raw.state", state, StateFileCodec.None);

        Assert.Equal(state.Length + StateFileFormat.HeaderLength + StateFileFormat.FooterLength, written.StoredLength);
        Assert.Equal(state, ReadAll("raw.state", written));
    }

    [Fact]
    public void Compression_shrinks_compressible_state()
    {
        byte[] state = new byte[4 << 20];
        for (int i = 0; i < state.Length; i++)
        {
            state[i] = (byte)"word,count\n"[i % 11];
        }

        StateFileReference written = Write("text.state", state);

        Assert.True(written.StoredLength < state.Length / 50, $"stored {written.StoredLength} bytes for {state.Length}");
        Assert.Equal(state, ReadAll("text.state", written));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(StateFileFormat.HeaderLength)]
    [InlineData(StateFileFormat.HeaderLength + 100)]
    [InlineData(-1)]
    [InlineData(-StateFileFormat.FooterLength)]
    public void Truncation_is_detected_and_names_the_file(int keep)
    {
        StateFileReference written = Write("t.state", Compressible(200_000));
        string path = Path.Combine(_root, "t.state");
        long cut = keep >= 0 ? keep : written.StoredLength + keep;
        using (var file = new FileStream(path, FileMode.Open))
        {
            file.SetLength(cut);
        }

        CheckpointCorruptException withoutMetadata = Assert.Throws<CheckpointCorruptException>(() => StateFileReader.Verify(_storage, "t.state"));
        Assert.Equal(CheckpointCorruption.Truncated, withoutMetadata.Problem);
        Assert.Contains(path, withoutMetadata.Message);
        Assert.Contains("truncated", withoutMetadata.Message);

        CheckpointCorruptException withMetadata = Assert.Throws<CheckpointCorruptException>(() => StateFileReader.Open(_storage, "t.state", written).Dispose());
        Assert.Equal(CheckpointCorruption.Truncated, withMetadata.Problem);
        Assert.Contains(path, withMetadata.Message);
    }

    [Fact]
    public void Flipped_body_byte_is_a_checksum_mismatch_when_verifying_and_reading()
    {
        StateFileReference written = Write("f.state", Compressible(300_000));
        string path = Path.Combine(_root, "f.state");
        FlipByte(path, StateFileFormat.HeaderLength + 40);

        CheckpointCorruptException verified = Assert.Throws<CheckpointCorruptException>(() => StateFileReader.Verify(_storage, "f.state", written));
        Assert.Equal(CheckpointCorruption.ChecksumMismatch, verified.Problem);
        Assert.Contains(path, verified.Message);

        CheckpointCorruptException read = Assert.Throws<CheckpointCorruptException>(() => ReadAll("f.state", written));
        Assert.Equal(CheckpointCorruption.ChecksumMismatch, read.Problem);
    }

    [Fact]
    public void Flipped_byte_in_uncompressed_body_is_found_at_the_end_of_reading()
    {
        StateFileReference written = Write("r.state", Compressible(10_000), StateFileCodec.None);
        FlipByte(Path.Combine(_root, "r.state"), StateFileFormat.HeaderLength + 9_999);

        using Stream read = StateFileReader.Open(_storage, "r.state", written);
        byte[] buffer = new byte[10_000];
        CheckpointCorruptException e = Assert.Throws<CheckpointCorruptException>(() => read.ReadExactly(buffer));
        Assert.Equal(CheckpointCorruption.ChecksumMismatch, e.Problem);
    }

    [Fact]
    public void Wrong_magic_and_unknown_version_and_codec_are_named()
    {
        Write("m.state", Compressible(1000));
        string path = Path.Combine(_root, "m.state");
        FlipByte(path, 0);
        CheckpointCorruptException magic = Assert.Throws<CheckpointCorruptException>(() => StateFileReader.Verify(_storage, "m.state"));
        Assert.Equal(CheckpointCorruption.WrongMagic, magic.Problem);
        Assert.Contains(path, magic.Message);

        Write("v.state", Compressible(1000));
        path = Path.Combine(_root, "v.state");
        PatchByte(path, 8, 9);
        CheckpointCorruptException version = Assert.Throws<CheckpointCorruptException>(() => StateFileReader.Open(_storage, "v.state"));
        Assert.Equal(CheckpointCorruption.UnknownVersion, version.Problem);
        Assert.Contains("version 9", version.Message);
        Assert.Contains(path, version.Message);

        Write("c.state", Compressible(1000));
        PatchByte(Path.Combine(_root, "c.state"), 10, 77);
        Assert.Equal(CheckpointCorruption.UnknownCodec, Assert.Throws<CheckpointCorruptException>(() => StateFileReader.Verify(_storage, "c.state")).Problem);
    }

    [Fact]
    public void A_file_other_than_the_one_in_the_metadata_is_refused()
    {
        StateFileReference first = Write("a.state", Compressible(1000));
        Write("b.state", Compressible(1001));

        CheckpointCorruptException e = Assert.Throws<CheckpointCorruptException>(() => StateFileReader.Verify(_storage, "b.state", first));
        Assert.Contains("metadata says", e.Message);
        Assert.Equal(CheckpointCorruption.Missing, Assert.Throws<CheckpointCorruptException>(() => StateFileReader.Verify(_storage, "absent.state", first)).Problem);
    }

    [Fact]
    public void An_uncommitted_write_leaves_no_file_under_its_final_name()
    {
        using (StateFileWriter writer = StateFileWriter.Create(_storage, "x/abandoned.state"))
        {
            writer.Stream.Write(Compressible(10_000));
        }

        Assert.False(_storage.Exists("x/abandoned.state"));
        Assert.Empty(Directory.GetFiles(Path.Combine(_root, "x")));
    }

    [Fact]
    public void A_final_name_is_written_once()
    {
        Write("once.state", [1]);
        using StateFileWriter writer = StateFileWriter.Create(_storage, "once.state");
        CheckpointStorageException e = Assert.Throws<CheckpointStorageException>(() => writer.Commit());
        Assert.Contains(Path.Combine(_root, "once.state"), e.Message);
        Assert.Equal([Path.Combine(_root, "once.state")], Directory.GetFiles(_root));
    }

    [Fact]
    public void An_io_failure_names_the_file_and_leaves_nothing()
    {
        // A file where the checkpoint's directory should be: creating the state file fails.
        Directory.CreateDirectory(_root);
        File.WriteAllBytes(Path.Combine(_root, "blocked"), [1]);
        CheckpointStorageException e = Assert.Throws<CheckpointStorageException>(() => StateFileWriter.Create(_storage, "blocked/x.state"));
        Assert.Contains(Path.Combine(_root, "blocked", "x.state"), e.Message);
        Assert.Equal(Path.Combine(_root, "blocked", "x.state"), e.FilePath);
        Assert.Equal([Path.Combine(_root, "blocked")], Directory.GetFileSystemEntries(_root));
    }

    [Fact]
    public void Storage_paths_must_stay_inside_the_root()
    {
        Assert.Throws<ArgumentException>(() => _storage.BeginWrite("../escape.state"));
        Assert.Throws<ArgumentException>(() => _storage.BeginWrite("/etc/passwd"));
        Assert.Throws<ArgumentException>(() => _storage.OpenRead("a//b"));
    }

    // ---- atomic publish ----

    [Fact]
    public void Publish_replaces_metadata_whole_and_a_crash_before_rename_leaves_the_old_one()
    {
        _storage.PublishAtomically("job/_metadata", "old"u8);
        _storage.PublishAtomically("job/_metadata", "new"u8);
        Assert.Equal("new"u8.ToArray(), File.ReadAllBytes(Path.Combine(_root, "job", "_metadata")));

        // A crash after writing the temporary file and before the rename: the old content stays,
        // the leftover is invisible to listings and removed as an abandoned write.
        File.WriteAllBytes(Path.Combine(_root, "job", "._metadata." + Guid.NewGuid().ToString("N") + ".inprogress"), "newer but partial"u8.ToArray());
        Assert.Equal("new"u8.ToArray(), File.ReadAllBytes(Path.Combine(_root, "job", "_metadata")));
        Assert.Equal(["_metadata"], _storage.ListFiles("job"));
        Assert.Equal(1, _storage.DeleteAbandonedWrites("job"));
        Assert.Equal(["_metadata"], Directory.GetFiles(Path.Combine(_root, "job")).Select(Path.GetFileName));
    }

    [Fact]
    public void Metadata_file_round_trips_and_detects_damage()
    {
        CheckpointMetadata metadata = Metadata(3, ("count", 0, "shared/a.state"), ("count", 1, "chk-3/b.state"));
        byte[] bytes = CheckpointMetadataFormat.Serialize(metadata);
        CheckpointMetadata read = CheckpointMetadataFormat.Deserialize(bytes, "m", Job, 3);
        Assert.Equal(metadata.Operators[0].Subtasks[0].Files[0], read.Operators[0].Subtasks[0].Files[0]);
        Assert.Equal(new KeyGroupRange(0, 63), read.Operators[0].Subtasks[0].KeyGroups);
        Assert.Equal(metadata.TriggerTime, read.TriggerTime);
        Assert.Contains("\"checksum\": \"", System.Text.Encoding.UTF8.GetString(bytes));

        Assert.Equal(CheckpointCorruption.Truncated, Assert.Throws<CheckpointCorruptException>(() => CheckpointMetadataFormat.Deserialize(bytes.AsSpan(0, bytes.Length - 10), "m", Job, 3)).Problem);
        Assert.Equal(CheckpointCorruption.Truncated, Assert.Throws<CheckpointCorruptException>(() => CheckpointMetadataFormat.Deserialize(bytes.AsSpan(0, 10), "m", Job, 3)).Problem);
        byte[] flipped = (byte[])bytes.Clone();
        flipped[^5] ^= 0x01;
        Assert.Equal(CheckpointCorruption.ChecksumMismatch, Assert.Throws<CheckpointCorruptException>(() => CheckpointMetadataFormat.Deserialize(flipped, "m", Job, 3)).Problem);
        Assert.Equal(CheckpointCorruption.InvalidMetadata, Assert.Throws<CheckpointCorruptException>(() => CheckpointMetadataFormat.Deserialize(bytes, "m", Job, 4)).Problem);
        Assert.Throws<CheckpointCorruptException>(() => CheckpointMetadataFormat.Deserialize(Metadata(3, ("count", 0, "chk-2/stolen.state")) is var m ? CheckpointMetadataFormat.Serialize(m) : [], "m", Job, 3));
    }

    // ---- catalog ----

    [Fact]
    public void Recovery_picks_the_latest_complete_checkpoint_and_restores_its_state()
    {
        CheckpointCatalog catalog = Open(retained: 3);
        Assert.Null(catalog.SelectForRecovery());
        CompleteCheckpoint(catalog, 1, "one");
        CompleteCheckpoint(catalog, 2, "two");

        CheckpointCatalog reopened = Open(retained: 3);
        CompletedCheckpoint? latest = reopened.SelectForRecovery();
        Assert.Equal(2, latest!.CheckpointId);
        Assert.Equal(3, reopened.NextCheckpointId);
        StateFileReference file = latest.Metadata.Operators.Single().Subtasks.Single().Files.Single().File;
        using var reader = new StreamReader(reopened.OpenStateFile(file));
        Assert.Equal("two", reader.ReadToEnd());
        Assert.DoesNotContain(_log.Lines, l => l.Level >= LogLevel.Warning);
    }

    [Fact]
    public void Recovery_falls_back_past_a_corrupt_state_file_and_says_so_in_one_line()
    {
        CheckpointCatalog catalog = Open(retained: 3);
        CompleteCheckpoint(catalog, 1, "one");
        CompletedCheckpoint second = CompleteCheckpoint(catalog, 2, "two");
        string corruptPath = Path.Combine(_root, Job, second.Metadata.Operators[0].Subtasks[0].Files[0].File.Path.Replace('/', Path.DirectorySeparatorChar));
        FlipByte(corruptPath, StateFileFormat.HeaderLength + 2);

        _log.Lines.Clear();
        CheckpointCatalog reopened = Open(retained: 3);
        Assert.Equal(1, reopened.SelectForRecovery()!.CheckpointId);

        (LogLevel level, string message) = Assert.Single(_log.Lines, l => l.Level >= LogLevel.Warning);
        Assert.Equal(LogLevel.Warning, level);
        Assert.Contains("Checkpoint 2", message);
        Assert.Contains("checksum mismatch", message);
        Assert.Contains(corruptPath, message);
        Assert.Contains("Recovering from checkpoint 1 instead", message);
        Assert.Equal(3, reopened.NextCheckpointId);
    }

    [Fact]
    public void Recovery_falls_back_past_unreadable_metadata()
    {
        CheckpointCatalog catalog = Open(retained: 3);
        CompleteCheckpoint(catalog, 1, "one");
        CompleteCheckpoint(catalog, 2, "two");
        string metadataPath = Path.Combine(_root, Job, "chk-2", "_metadata");
        byte[] metadata = File.ReadAllBytes(metadataPath);
        File.WriteAllBytes(metadataPath, metadata[..(metadata.Length / 2)]);

        _log.Lines.Clear();
        CheckpointCatalog reopened = Open(retained: 3);
        Assert.Equal(1, reopened.SelectForRecovery()!.CheckpointId);
        string line = Assert.Single(_log.Lines, l => l.Level >= LogLevel.Warning).Message;
        Assert.Contains("Checkpoint 2", line);
        Assert.Contains("truncated", line);
        Assert.Contains(metadataPath, line);

        // The next checkpoint gets a fresh ID and subsumes the unusable one.
        CompleteCheckpoint(reopened, reopened.NextCheckpointId, "three");
        Assert.False(Directory.Exists(Path.Combine(_root, Job, "chk-2")));
    }

    [Fact]
    public void Recovery_with_no_usable_checkpoint_logs_an_error_and_starts_fresh()
    {
        CheckpointCatalog catalog = Open();
        CompletedCheckpoint only = CompleteCheckpoint(catalog, 1, "one");
        File.Delete(Path.Combine(_root, Job, only.Metadata.Operators[0].Subtasks[0].Files[0].File.Path));

        _log.Lines.Clear();
        Assert.Null(Open().SelectForRecovery());
        string line = Assert.Single(_log.Lines, l => l.Level == LogLevel.Error).Message;
        Assert.Contains("missing", line);
        Assert.Contains("starts without state", line);
    }

    [Fact]
    public void Retention_deletes_subsumed_checkpoints_and_shared_files_when_the_last_reference_goes()
    {
        CheckpointCatalog catalog = Open(retained: 2);

        // Checkpoint 1 writes a shared file S and an exclusive one.
        PendingCheckpoint first = catalog.BeginCheckpoint(1, DateTimeOffset.UtcNow);
        StateFileReference shared = WriteShared(first, "count", "base");
        StateFileReference exclusive = WriteExclusive(first, "count", "delta1");
        first.Acknowledge("count", 1, 0, null, [new("base", shared), new("delta", exclusive)]);
        catalog.Complete(first, 128);
        Assert.Equal(1, catalog.HoldersOf(shared.Path));

        // Checkpoints 2 and 3 reuse S (unchanged state is referenced, not rewritten).
        for (long id = 2; id <= 3; id++)
        {
            PendingCheckpoint next = catalog.BeginCheckpoint(id, DateTimeOffset.UtcNow);
            next.Acknowledge("count", 1, 0, null, [new("base", shared), new("delta", WriteExclusive(next, "count", "delta" + id))]);
            catalog.Complete(next, 128);
        }

        Assert.Equal([2L, 3L], catalog.Retained.Select(c => c.CheckpointId));
        Assert.False(Directory.Exists(Path.Combine(_root, Job, "chk-1")));
        Assert.True(File.Exists(SharedFile(shared)));
        Assert.Equal(2, catalog.HoldersOf(shared.Path));

        // Checkpoints 4 and 5 rewrite the base: once 2 and 3 are subsumed nobody needs S.
        for (long id = 4; id <= 5; id++)
        {
            PendingCheckpoint next = catalog.BeginCheckpoint(id, DateTimeOffset.UtcNow);
            next.Acknowledge("count", 1, 0, null, [new("base", WriteShared(next, "count", "base" + id))]);
            catalog.Complete(next, 128);
            Assert.Equal(id == 4, File.Exists(SharedFile(shared)));
        }

        Assert.Equal(0, catalog.HoldersOf(shared.Path));
        Assert.Equal(["chk-4", "chk-5", "shared"], _storage.ListDirectories(Job));
        Assert.Equal(2, _storage.ListFiles(Job + "/shared").Count);
    }

    [Fact]
    public void Restart_rebuilds_reference_counts_from_metadata()
    {
        CheckpointCatalog catalog = Open(retained: 2);
        PendingCheckpoint first = catalog.BeginCheckpoint(1, DateTimeOffset.UtcNow);
        StateFileReference shared = WriteShared(first, "count", "base");
        first.Acknowledge("count", 1, 0, null, [new("base", shared)]);
        catalog.Complete(first, 128);
        PendingCheckpoint second = catalog.BeginCheckpoint(2, DateTimeOffset.UtcNow);
        second.Acknowledge("count", 1, 0, null, [new("base", shared)]);
        catalog.Complete(second, 128);

        // The process dies here. The new one must count both references ...
        CheckpointCatalog restarted = Open(retained: 2);
        Assert.Equal(2, restarted.HoldersOf(shared.Path));
        restarted.SelectForRecovery();

        // ... so subsuming checkpoint 1 keeps the file checkpoint 2 still needs ...
        PendingCheckpoint third = restarted.BeginCheckpoint(restarted.NextCheckpointId, DateTimeOffset.UtcNow);
        third.Acknowledge("count", 1, 0, null, [new("base", WriteShared(third, "count", "rewritten"))]);
        restarted.Complete(third, 128);
        Assert.True(File.Exists(SharedFile(shared)));
        Assert.Equal(1, restarted.HoldersOf(shared.Path));

        // ... and subsuming checkpoint 2 deletes it.
        PendingCheckpoint fourth = restarted.BeginCheckpoint(restarted.NextCheckpointId, DateTimeOffset.UtcNow);
        fourth.Acknowledge("count", 1, 0, null, [new("base", WriteShared(fourth, "count", "again"))]);
        restarted.Complete(fourth, 128);
        Assert.False(File.Exists(SharedFile(shared)));
    }

    [Fact]
    public void Opening_cleans_up_abandoned_writes_incomplete_checkpoints_and_unreferenced_shared_files()
    {
        CheckpointCatalog catalog = Open();
        CompletedCheckpoint done = CompleteCheckpoint(catalog, 1, "one");

        // A crash during checkpoint 2: a state file written, a shared file written, metadata never published,
        // and a write that never reached its rename.
        PendingCheckpoint crashed = catalog.BeginCheckpoint(2, DateTimeOffset.UtcNow);
        WriteExclusive(crashed, "count", "two");
        StateFileReference orphan = WriteShared(crashed, "count", "two");
        StateFileWriter halfWritten = StateFileWriter.Create(_storage, Job + "/shared/half.state");
        halfWritten.Stream.Write(Compressible(1000));
        // (no Commit, no Dispose: the process is gone)

        CheckpointCatalog restarted = Open();
        Assert.Equal([1L], restarted.Retained.Select(c => c.CheckpointId));
        Assert.False(Directory.Exists(Path.Combine(_root, Job, "chk-2")));
        Assert.False(File.Exists(SharedFile(orphan)));
        Assert.DoesNotContain(Directory.GetFiles(Path.Combine(_root, Job, "shared")), f => f.EndsWith(".inprogress", StringComparison.Ordinal));
        Assert.Equal(3, restarted.NextCheckpointId);
        Assert.Contains(_log.Lines, l => l.Message.Contains("1 abandoned writes, 1 incomplete checkpoints and 1 unreferenced shared files"));
        Assert.Equal(1, restarted.SelectForRecovery()!.CheckpointId);
        _ = done;
        halfWritten.Dispose();
    }

    [Fact]
    public void Abort_deletes_what_the_checkpoint_wrote_and_releases_what_it_reused()
    {
        CheckpointCatalog catalog = Open();
        PendingCheckpoint first = catalog.BeginCheckpoint(1, DateTimeOffset.UtcNow);
        StateFileReference shared = WriteShared(first, "count", "base");
        first.Acknowledge("count", 1, 0, null, [new("base", shared)]);
        catalog.Complete(first, 128);

        PendingCheckpoint aborted = catalog.BeginCheckpoint(2, DateTimeOffset.UtcNow);
        StateFileReference created = WriteShared(aborted, "count", "new");
        aborted.Acknowledge("count", 1, 0, null, [new("base", shared), new("new", created), new("x", WriteExclusive(aborted, "count", "x"))]);
        Assert.Equal(2, catalog.HoldersOf(shared.Path));
        catalog.Abort(aborted);

        Assert.Equal(1, catalog.HoldersOf(shared.Path));
        Assert.True(File.Exists(SharedFile(shared)));
        Assert.False(File.Exists(SharedFile(created)));
        Assert.False(Directory.Exists(Path.Combine(_root, Job, "chk-2")));
        Assert.Throws<InvalidOperationException>(() => catalog.Complete(aborted, 128));
    }

    [Fact]
    public void Reusing_a_shared_file_no_retained_checkpoint_holds_is_refused()
    {
        CheckpointCatalog catalog = Open();
        PendingCheckpoint first = catalog.BeginCheckpoint(1, DateTimeOffset.UtcNow);
        StateFileReference old = WriteShared(first, "count", "base");
        first.Acknowledge("count", 1, 0, null, [new("base", old)]);
        catalog.Complete(first, 128);
        PendingCheckpoint second = catalog.BeginCheckpoint(2, DateTimeOffset.UtcNow);
        second.Acknowledge("count", 1, 0, null, [new("base", WriteShared(second, "count", "base"))]);
        catalog.Complete(second, 128);

        PendingCheckpoint third = catalog.BeginCheckpoint(3, DateTimeOffset.UtcNow);
        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => third.Acknowledge("count", 1, 0, null, [new("base", old)]));
        Assert.Contains("no retained checkpoint holds", e.Message);
        Assert.Throws<InvalidOperationException>(() => third.Acknowledge("count", 1, 0, null, [new("x", old with { Path = "chk-1/x.state" })]));
    }

    [Theory]
    [InlineData(JobTermination.Cancelled, false, false)]
    [InlineData(JobTermination.Cancelled, true, true)]
    [InlineData(JobTermination.Failed, false, true)]
    [InlineData(JobTermination.Finished, false, true)]
    public void Close_keeps_or_deletes_checkpoints_by_how_the_job_ended(JobTermination termination, bool retainOnCancellation, bool kept)
    {
        CheckpointCatalog catalog = Open(retainOnCancellation: retainOnCancellation);
        CompleteCheckpoint(catalog, 1, "one");
        PendingCheckpoint pending = catalog.BeginCheckpoint(2, DateTimeOffset.UtcNow);
        WriteExclusive(pending, "count", "two");

        catalog.Close(termination);

        Assert.False(Directory.Exists(Path.Combine(_root, Job, "chk-2")));
        Assert.Equal(kept, File.Exists(Path.Combine(_root, Job, "chk-1", "_metadata")));
        Assert.Equal(kept ? 1 : (long?)null, Open().SelectForRecovery()?.CheckpointId);
    }

    [Fact]
    public void Checkpoint_ids_must_increase()
    {
        CheckpointCatalog catalog = Open();
        CompleteCheckpoint(catalog, 5, "five");
        Assert.Throws<InvalidOperationException>(() => catalog.BeginCheckpoint(5, DateTimeOffset.UtcNow));
        Assert.Equal(6, Open().NextCheckpointId);
        Assert.Throws<ArgumentException>(() => CheckpointCatalog.Open(_storage, "../other"));
    }

    // ---- helpers ----

    private CheckpointCatalog Open(int retained = 1, bool retainOnCancellation = false)
        => CheckpointCatalog.Open(_storage, Job, new CheckpointRetention { RetainedCheckpoints = retained, RetainOnCancellation = retainOnCancellation }, _log);

    private static CompletedCheckpoint CompleteCheckpoint(CheckpointCatalog catalog, long id, string state)
    {
        PendingCheckpoint pending = catalog.BeginCheckpoint(id, DateTimeOffset.UtcNow);
        pending.Acknowledge("count", 1, 0, new KeyGroupRange(0, 127), [new("keyed", WriteExclusive(pending, "count", state))]);
        return catalog.Complete(pending, 128);
    }

    private static StateFileReference WriteExclusive(PendingCheckpoint pending, string operatorId, string state)
    {
        using StateFileWriter writer = pending.CreateExclusiveStateFile(operatorId, 0, "keyed-" + state);
        writer.Stream.Write(System.Text.Encoding.UTF8.GetBytes(state));
        return writer.Commit();
    }

    private static StateFileReference WriteShared(PendingCheckpoint pending, string operatorId, string state)
    {
        using StateFileWriter writer = pending.CreateSharedStateFile(operatorId, 0, "keyed");
        writer.Stream.Write(System.Text.Encoding.UTF8.GetBytes(state));
        return writer.Commit();
    }

    private string SharedFile(StateFileReference file) => Path.Combine(_root, Job, file.Path.Replace('/', Path.DirectorySeparatorChar));

    private StateFileReference Write(string path, byte[] state, StateFileCodec codec = StateFileCodec.Zstd)
    {
        using StateFileWriter writer = StateFileWriter.Create(_storage, path, codec: codec);
        writer.Stream.Write(state);
        return writer.Commit();
    }

    private byte[] ReadAll(string path, StateFileReference expected)
    {
        using Stream stream = StateFileReader.Open(_storage, path, expected);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static byte[] Compressible(int length)
    {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++)
        {
            bytes[i] = (byte)(i % 251 < 200 ? 'a' + i % 13 : i * 31);
        }

        return bytes;
    }

    // Half random, half repeated: exercises zstd on both kinds of block.
    private static void FillHalfRandom(Random random, byte[] chunk)
    {
        random.NextBytes(chunk.AsSpan(0, chunk.Length / 2));
        chunk.AsSpan(chunk.Length / 2).Fill((byte)'x');
    }

    private static void FlipByte(string path, long offset)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        file.Position = offset;
        int value = file.ReadByte();
        file.Position = offset;
        file.WriteByte((byte)(value ^ 0x5a));
    }

    private static void PatchByte(string path, long offset, byte value)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        file.Position = offset;
        file.WriteByte(value);
    }

    private static CheckpointMetadata Metadata(long id, params (string Operator, int Subtask, string Path)[] files)
        => new()
        {
            JobName = Job,
            CheckpointId = id,
            TriggerTime = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero),
            CompletionTime = new DateTimeOffset(2026, 1, 2, 3, 4, 6, TimeSpan.Zero),
            MaxParallelism = 128,
            Operators = files.GroupBy(f => f.Operator).Select(o => new OperatorStateMetadata
            {
                OperatorId = o.Key,
                Parallelism = 2,
                Subtasks = o.Select(f => new SubtaskStateMetadata
                {
                    SubtaskIndex = f.Subtask,
                    KeyGroups = new KeyGroupRange(f.Subtask * 64, f.Subtask * 64 + 63),
                    Files = [new SubtaskStateFile("keyed", new StateFileReference(f.Path, 100, 200, 0xfedcba9876543210UL))],
                }).ToArray(),
            }).ToArray(),
        };
}
