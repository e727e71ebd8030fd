using System;
using System.Collections.Generic;
using System.Linq;
using Weir.Checkpointing.Snapshots;
using Weir.Checkpointing.Storage;
using Weir.Connectors;
using Weir.State;
using Xunit;

namespace Weir.Runtime.Tests;

public sealed class WriteAheadLogSinkTests : IDisposable
{
    private readonly ConnectorCheckpointHarness _harness = new();
    private readonly ExternalSystem _external = new();

    public void Dispose() => _harness.Dispose();

    [Fact]
    public void Records_reach_the_inner_sink_only_when_their_checkpoint_completes()
    {
        var registered = new List<ICheckpointedState>();
        using var writer = CreateWriter(0, 1, registered);
        writer.Write("a");
        writer.Write("b");
        writer.Flush();
        Assert.Empty(_external.Received);

        CompletedCheckpoint first = _harness.Complete(_harness.SnapshotAll(registered));
        writer.Write("c"); // after the barrier: belongs to the next checkpoint
        Assert.Empty(_external.Received);

        registered[0].NotifyCheckpointComplete(first.CheckpointId);
        Assert.Equal(["a", "b"], _external.Received);
        Assert.Equal(2, _external.FlushedCount);

        writer.Finish();
        Assert.False(_external.Finished); // the last batch waits for the final checkpoint
        _harness.Checkpoint(registered);
        Assert.Equal(["a", "b", "c"], _external.Received);
        Assert.True(_external.Finished);
    }

    [Fact]
    public void Batches_of_an_aborted_checkpoint_are_emitted_with_the_next_completed_one_in_order()
    {
        var registered = new List<ICheckpointedState>();
        using var writer = CreateWriter(0, 1, registered);
        writer.Write("a");
        PendingCheckpoint aborted = _harness.SnapshotAll(registered);
        _harness.Catalog.Abort(aborted);
        registered[0].NotifyCheckpointAborted(aborted.CheckpointId);
        writer.Write("b");
        _harness.Checkpoint(registered);

        Assert.Equal(["a", "b"], _external.Received);
    }

    [Fact]
    public void A_restore_re_emits_the_batches_of_the_restored_checkpoint()
    {
        var registered = new List<ICheckpointedState>();
        var first = CreateWriter(0, 1, registered);
        first.Write("confirmed");
        _harness.Checkpoint(registered);
        first.Write("unconfirmed-1");
        first.Write("unconfirmed-2");
        CompletedCheckpoint checkpoint = _harness.Complete(_harness.SnapshotAll(registered)); // fails before the notification
        first.Write("lost");
        Assert.Equal(["confirmed"], _external.Received);

        var restored = CreateWriter(0, 1, []);
        _harness.Restore(checkpoint, restored, 0, 1);

        Assert.Equal(["confirmed", "unconfirmed-1", "unconfirmed-2"], _external.Received);
        first.Dispose();
        restored.Dispose();
    }

    [Fact]
    public void A_batch_emitted_before_a_failure_is_emitted_again_after_restore_which_is_at_least_once()
    {
        var registered = new List<ICheckpointedState>();
        using var first = CreateWriter(0, 1, registered);
        first.Write("x");
        CompletedCheckpoint checkpoint = _harness.Checkpoint(registered); // emitted, then the job fails

        using var restored = CreateWriter(0, 1, []);
        _harness.Restore(checkpoint, restored, 0, 1);

        Assert.Equal(["x", "x"], _external.Received);
    }

    [Theory]
    [InlineData(2, 1)]
    [InlineData(1, 3)]
    public void Restoring_at_another_parallelism_re_emits_every_batch_once(int oldParallelism, int newParallelism)
    {
        var registered = new List<ICheckpointedState>();
        var old = Enumerable.Range(0, oldParallelism).Select(s => CreateWriter(s, oldParallelism, registered)).ToArray();
        for (int s = 0; s < oldParallelism; s++)
        {
            old[s].Write($"s{s}-1");
        }

        PendingCheckpoint aborted = _harness.SnapshotAll(registered);
        _harness.Catalog.Abort(aborted);
        for (int s = 0; s < oldParallelism; s++)
        {
            old[s].Write($"s{s}-2");
        }

        CompletedCheckpoint checkpoint = _harness.Complete(_harness.SnapshotAll(registered));

        for (int s = 0; s < newParallelism; s++)
        {
            _harness.Restore(checkpoint, CreateWriter(s, newParallelism, []), s, newParallelism);
        }

        string[] expected = Enumerable.Range(0, oldParallelism).SelectMany(s => new[] { $"s{s}-1", $"s{s}-2" }).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(expected, _external.Received.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Without_checkpoints_records_pass_straight_through()
    {
        using var writer = Sinks.WriteAheadLog(new ExternalSink(_external), MemoryPackStateSerializer<string>.Instance).CreateWriter(new SinkContext("wal", 0, 1));
        writer.Write("a");
        Assert.Equal(["a"], _external.Received);
        writer.Finish();
        Assert.True(_external.Finished);
    }

    private WriteAheadLogWriter<string, ExternalWriter> CreateWriter(int subtask, int parallelism, List<ICheckpointedState> registered)
        => Sinks.WriteAheadLog(new ExternalSink(_external), MemoryPackStateSerializer<string>.Instance)
            .CreateWriter(new SinkContext("wal", subtask, parallelism, ConnectorCheckpointHarness.Participation("a1", registered)));

    /// <summary>A non-transactional external system: what it receives is visible at once.</summary>
    private sealed class ExternalSystem
    {
        public List<string> Received { get; } = [];

        public int FlushedCount { get; set; }

        public bool Finished { get; set; }
    }

    private sealed class ExternalSink(ExternalSystem system) : ISink<string, ExternalWriter>
    {
        public ExternalWriter CreateWriter(SinkContext context)
        {
            Assert.Null(context.Checkpoints); // the inner sink never takes part in checkpoints itself
            return new ExternalWriter(system);
        }
    }

    private sealed class ExternalWriter(ExternalSystem system) : ISinkWriter<string>
    {
        public void Write(in string record) => system.Received.Add(record);

        public void Flush() => system.FlushedCount = system.Received.Count;

        public void Finish() => system.Finished = true;

        public void Dispose()
        {
        }
    }
}
