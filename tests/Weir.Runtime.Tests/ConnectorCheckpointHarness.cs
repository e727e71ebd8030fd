using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Weir.Checkpointing.Coordinator;
using Weir.Checkpointing.Snapshots;
using Weir.Checkpointing.Storage;
using Weir.Connectors;
using Weir.Execution;
using Xunit;

namespace Weir.Runtime.Tests;

/// <summary>
/// Drives connector state through the checkpoint contract the way the executor will: a real
/// catalog on local storage, Snapshot on the "processing thread", Write with a SnapshotOutput,
/// acknowledgement, completion, notification; restore from the completed checkpoint's metadata.
/// </summary>
internal sealed class ConnectorCheckpointHarness : IDisposable
{
    private const int MaxParallelism = 128;

    public ConnectorCheckpointHarness()
    {
        Root = Path.Combine(Path.GetTempPath(), "weir-conn-ck-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
        Catalog = CheckpointCatalog.Open(new LocalCheckpointStorage(Path.Combine(Root, "checkpoints")), "job", new CheckpointRetention { RetainedCheckpoints = 10 });
    }

    public string Root { get; }

    public CheckpointCatalog Catalog { get; }

    /// <summary>A participation whose registrations land in <paramref name="registered"/>.</summary>
    public static CheckpointParticipation Participation(string attemptId, List<ICheckpointedState> registered)
        => new(CheckpointingMode.ExactlyOnce, attemptId, registered.Add);

    /// <summary>Snapshots every subtask (index = position) and writes and acknowledges its state; returns the pending checkpoint.</summary>
    public PendingCheckpoint SnapshotAll(IReadOnlyList<ICheckpointedState> subtasks)
    {
        long id = Catalog.NextCheckpointId;
        PendingCheckpoint pending = Catalog.BeginCheckpoint(id, DateTimeOffset.UtcNow);
        for (int subtask = 0; subtask < subtasks.Count; subtask++)
        {
            ICheckpointedState state = subtasks[subtask];
            IStateSnapshot snapshot = state.Snapshot(id);
            IReadOnlyList<SubtaskStateFile> files = snapshot.Write(new SnapshotOutput(pending, state.OperatorId, subtask, default));
            pending.Acknowledge(state.OperatorId, subtasks.Count, subtask, null, files);
        }

        return pending;
    }

    /// <summary>Completes the checkpoint (metadata durable) without notifying anyone.</summary>
    public CompletedCheckpoint Complete(PendingCheckpoint pending) => Catalog.Complete(pending, MaxParallelism);

    /// <summary>A full checkpoint: snapshot, complete, notify every subtask.</summary>
    public CompletedCheckpoint Checkpoint(IReadOnlyList<ICheckpointedState> subtasks)
    {
        CompletedCheckpoint completed = Complete(SnapshotAll(subtasks));
        foreach (ICheckpointedState state in subtasks)
        {
            state.NotifyCheckpointComplete(completed.CheckpointId);
        }

        return completed;
    }

    /// <summary>Restores <paramref name="state"/> as subtask <paramref name="subtask"/> of <paramref name="parallelism"/>.</summary>
    public void Restore(CompletedCheckpoint checkpoint, ICheckpointedState state, int subtask, int parallelism)
    {
        OperatorStateMetadata operatorState = checkpoint.Metadata.Operators.Single(o => o.OperatorId == state.OperatorId);
        var restored = new RestoredOperatorState(
            checkpoint.CheckpointId,
            state.OperatorId,
            subtask,
            parallelism,
            new KeyGroupRange(0, -1),
            MaxParallelism,
            operatorState.Subtasks,
            operatorState.Parallelism,
            Catalog.OpenStateFile);
        state.Restore(restored);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
