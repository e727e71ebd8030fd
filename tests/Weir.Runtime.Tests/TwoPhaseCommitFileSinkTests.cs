using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Weir.Checkpointing.Snapshots;
using Weir.Checkpointing.Storage;
using Weir.Connectors;
using Weir.State;
using Xunit;

namespace Weir.Runtime.Tests;

public sealed class TwoPhaseCommitFileSinkTests : IDisposable
{
    private readonly ConnectorCheckpointHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    private string Output => Path.Combine(_harness.Root, "out");

    [Fact]
    public void Records_stay_hidden_until_their_checkpoint_completes_and_are_visible_after()
    {
        var registered = new List<ICheckpointedState>();
        using TextFileWriter<string, StringFormat> writer = CreateWriter(0, 1, "a1", registered);
        writer.Write("one");
        writer.Write("two");
        writer.Flush();
        Assert.Empty(VisibleFiles());

        PendingCheckpoint pending = _harness.SnapshotAll(registered);
        CompletedCheckpoint completed = _harness.Complete(pending);
        Assert.Empty(VisibleFiles()); // pre-committed (fsynced, closed), not committed

        writer.Write("three"); // the next transaction
        registered[0].NotifyCheckpointComplete(completed.CheckpointId);

        Assert.Equal(["part-0000-a1-000000.txt"], VisibleFiles());
        Assert.Equal(["one", "two"], VisibleLines());
        Assert.Equal([".part-0000-a1-000001.txt.inprogress"], HiddenFiles());
    }

    [Fact]
    public void An_aborted_checkpoint_publishes_nothing_and_the_next_completion_commits_its_records()
    {
        var registered = new List<ICheckpointedState>();
        using TextFileWriter<string, StringFormat> writer = CreateWriter(0, 1, "a1", registered);
        writer.Write("one");
        PendingCheckpoint first = _harness.SnapshotAll(registered);
        _harness.Catalog.Abort(first);
        registered[0].NotifyCheckpointAborted(first.CheckpointId);
        Assert.Empty(VisibleFiles());

        writer.Write("two");
        _harness.Checkpoint(registered);

        Assert.Equal(["one", "two"], VisibleLines());
        Assert.Equal(2, VisibleFiles().Length);
    }

    [Fact]
    public void A_failed_writer_leaves_nothing_visible_and_deletes_its_open_transaction()
    {
        var registered = new List<ICheckpointedState>();
        using (TextFileWriter<string, StringFormat> writer = CreateWriter(0, 1, "a1", registered))
        {
            writer.Write("lost");
            writer.Flush();
        }

        Assert.Empty(VisibleFiles());
        Assert.Empty(HiddenFiles());
    }

    [Fact]
    public void A_checkpoint_without_records_writes_no_file()
    {
        var registered = new List<ICheckpointedState>();
        using TextFileWriter<string, StringFormat> writer = CreateWriter(0, 1, "a1", registered);
        _harness.Checkpoint(registered);
        _harness.Checkpoint(registered);

        Assert.Empty(VisibleFiles());
        Assert.Equal([".part-0000-a1-000000.txt.inprogress"], HiddenFiles()); // still the first, open transaction
    }

    [Fact]
    public void Finish_under_checkpoints_only_pre_commits_and_the_final_checkpoint_commits()
    {
        var registered = new List<ICheckpointedState>();
        using TextFileWriter<string, StringFormat> writer = CreateWriter(0, 1, "a1", registered);
        writer.Write("a");
        _harness.Checkpoint(registered);
        writer.Write("b");
        writer.Finish();

        Assert.Equal(["a"], VisibleLines());
        Assert.Single(writer.PendingTransactions);

        _harness.Checkpoint(registered); // the final checkpoint after all input

        Assert.Equal(["a", "b"], VisibleLines());
        Assert.Empty(HiddenFiles());
        Assert.Empty(writer.PendingTransactions);
    }

    [Fact]
    public void A_failure_between_pre_commit_and_commit_is_committed_exactly_once_by_the_restore_and_a_second_restore_is_harmless()
    {
        // Attempt 1: checkpoint 1 completes and is confirmed; checkpoint 2 completes but the job
        // fails before the confirmation; checkpoint 3 is pre-committed but never completes; more
        // records are in the open transaction.
        var registered = new List<ICheckpointedState>();
        TextFileWriter<string, StringFormat> first = CreateWriter(0, 1, "a1", registered);
        first.Write("c1");
        _harness.Checkpoint(registered);
        first.Write("c2-a");
        first.Write("c2-b");
        CompletedCheckpoint second = _harness.Complete(_harness.SnapshotAll(registered));
        first.Write("c3");
        PendingCheckpoint third = _harness.SnapshotAll(registered);
        first.Write("open");
        first.Flush();
        Assert.Equal(["c1"], VisibleLines());
        Assert.Equal(3, HiddenFiles().Length); // c2, c3, open
        // The process dies: no Dispose, no notification; checkpoint 3 never completes.
        _harness.Catalog.Abort(third);

        // Attempt 2 restores checkpoint 2.
        var registered2 = new List<ICheckpointedState>();
        using (TextFileWriter<string, StringFormat> restored = CreateWriter(0, 1, "a2", registered2))
        {
            _harness.Restore(second, restored, 0, 1);
            Assert.Equal(["c1", "c2-a", "c2-b"], VisibleLines());
            Assert.Equal([".part-0000-a2-000000.txt.inprogress"], HiddenFiles()); // only the new attempt's own file
            restored.Write("after-restore"); // then attempt 2 fails too
            restored.Flush();
        }

        // Attempt 3 restores the same checkpoint again: nothing is committed twice.
        var registered3 = new List<ICheckpointedState>();
        using TextFileWriter<string, StringFormat> again = CreateWriter(0, 1, "a3", registered3);
        _harness.Restore(second, again, 0, 1);
        again.Write("final");
        again.Finish();
        _harness.Checkpoint(registered3);

        Assert.Equal(["c1", "c2-a", "c2-b", "final"], VisibleLines());
        Assert.Empty(HiddenFiles());
        first.Dispose();
    }

    [Theory]
    [InlineData(2, 1)]
    [InlineData(1, 2)]
    [InlineData(2, 3)]
    [InlineData(3, 2)]
    public void Restoring_at_another_parallelism_commits_every_pending_transaction_once_and_deletes_every_leftover(int oldParallelism, int newParallelism)
    {
        var registered = new List<ICheckpointedState>();
        TextFileWriter<string, StringFormat>[] old = Enumerable.Range(0, oldParallelism).Select(s => CreateWriter(s, oldParallelism, "a1", registered)).ToArray();
        for (int s = 0; s < oldParallelism; s++)
        {
            old[s].Write($"s{s}-committed");
        }

        _harness.Checkpoint(registered);
        for (int s = 0; s < oldParallelism; s++)
        {
            old[s].Write($"s{s}-pending");
        }

        CompletedCheckpoint checkpoint = _harness.Complete(_harness.SnapshotAll(registered)); // never confirmed
        for (int s = 0; s < oldParallelism; s++)
        {
            old[s].Write($"s{s}-lost");
            old[s].Flush();
        }

        var registered2 = new List<ICheckpointedState>();
        TextFileWriter<string, StringFormat>[] restored = Enumerable.Range(0, newParallelism).Select(s => CreateWriter(s, newParallelism, "a2", registered2)).ToArray();
        for (int s = 0; s < newParallelism; s++)
        {
            _harness.Restore(checkpoint, restored[s], s, newParallelism);
        }

        string[] expected = Enumerable.Range(0, oldParallelism).SelectMany(s => new[] { $"s{s}-committed", $"s{s}-pending" }).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(expected, VisibleLines().Order(StringComparer.Ordinal));
        Assert.All(HiddenFiles(), name => Assert.Contains("-a2-", name, StringComparison.Ordinal));
        Assert.Equal(newParallelism, HiddenFiles().Length);

        foreach (TextFileWriter<string, StringFormat> writer in old.Concat(restored))
        {
            writer.Dispose();
        }
    }

    [Fact]
    public void Commit_of_a_transaction_whose_files_are_both_gone_names_the_file()
    {
        var registered = new List<ICheckpointedState>();
        using TextFileWriter<string, StringFormat> writer = CreateWriter(0, 1, "a1", registered);
        writer.Write("x");
        CompletedCheckpoint checkpoint = _harness.Complete(_harness.SnapshotAll(registered));
        File.Delete(Path.Combine(Output, ".part-0000-a1-000000.txt.inprogress"));

        IOException error = Assert.Throws<IOException>(() => registered[0].NotifyCheckpointComplete(checkpoint.CheckpointId));
        Assert.Contains(".part-0000-a1-000000.txt.inprogress", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_user_transactional_sink_on_the_base_follows_the_protocol()
    {
        var log = new List<string>();
        var registered = new List<ICheckpointedState>();
        var context = new SinkContext("mem", 0, 1, ConnectorCheckpointHarness.Participation("a1", registered));
        using (var writer = new RecordingTransactionalWriter(context, log))
        {
            writer.Write(1);
            writer.Write(2);
            CompletedCheckpoint checkpoint = _harness.Complete(_harness.SnapshotAll(registered));
            writer.Write(3);
            registered[0].NotifyCheckpointComplete(checkpoint.CheckpointId);
        }

        Assert.Equal(["begin 0", "write 0:1", "write 0:2", "precommit 0", "begin 1", "write 1:3", "commit 0", "abort 1"], log);
    }

    private TextFileWriter<string, StringFormat> CreateWriter(int subtask, int parallelism, string attempt, List<ICheckpointedState> registered)
        => Sinks.TextLines(Output).CreateWriter(new SinkContext("out", subtask, parallelism, ConnectorCheckpointHarness.Participation(attempt, registered)));

    private string[] VisibleFiles()
        => Directory.GetFiles(Output).Select(Path.GetFileName).Where(n => !n!.StartsWith('.')).Order(StringComparer.Ordinal).ToArray()!;

    private string[] HiddenFiles()
        => Directory.GetFiles(Output).Select(Path.GetFileName).Where(n => n!.StartsWith('.')).Order(StringComparer.Ordinal).ToArray()!;

    private string[] VisibleLines()
        => VisibleFiles().SelectMany(f => File.ReadAllLines(Path.Combine(Output, f))).ToArray();

    /// <summary>A user's transactional sink: transactions are numbers, and every call is logged.</summary>
    private sealed class RecordingTransactionalWriter : TwoPhaseCommitSinkWriter<int, long>
    {
        private readonly List<string> _log;
        private long _next;

        public RecordingTransactionalWriter(SinkContext context, List<string> log)
            : base(context, MemoryPackStateSerializer<long>.Instance)
        {
            _log = log;
            Start();
        }

        public override void Write(in int record) => _log.Add($"write {CurrentTransaction}:{record}");

        public override void Flush()
        {
        }

        protected override long BeginTransaction()
        {
            _log.Add($"begin {_next}");
            return _next++;
        }

        protected override void PreCommit(long transaction) => _log.Add($"precommit {transaction}");

        protected override void Commit(long transaction) => _log.Add($"commit {transaction}");

        protected override void Abort(long transaction) => _log.Add($"abort {transaction}");
    }
}
