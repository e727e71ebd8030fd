using System;
using System.Collections.Generic;

namespace Weir.Checkpointing.Coordinator
{
    /// <summary>
    /// An effect the <see cref="CheckpointCoordinator"/> decided on and its caller carries out. The
    /// coordinator itself does no I/O and talks to no subtask, so every decision can be tested by
    /// feeding it inputs and reading the commands back. Commands of one call are returned in the
    /// order they must be executed.
    /// </summary>
    public abstract record CheckpointCommand;

    /// <summary>Inject barrier <paramref name="CheckpointId"/> at every source subtask, in-band after the records already emitted.</summary>
    /// <param name="CheckpointId">The new checkpoint's ID, greater than every earlier one.</param>
    /// <param name="Timestamp">The trigger time (wall clock), carried by the barrier.</param>
    /// <param name="Mode">How subtasks with several inputs treat the barrier.</param>
    /// <param name="Trigger">What started it.</param>
    public sealed record InjectBarrier(long CheckpointId, DateTimeOffset Timestamp, CheckpointingMode Mode, CheckpointTrigger Trigger) : CheckpointCommand;

    /// <summary>
    /// Every subtask acknowledged <paramref name="CheckpointId"/>: write its metadata atomically
    /// (it is restorable only once that write is durable), then call
    /// <see cref="CheckpointCoordinator.MarkCompleted"/> or <see cref="CheckpointCoordinator.MarkFinalizeFailed"/>.
    /// </summary>
    /// <param name="CheckpointId">The checkpoint to finalize.</param>
    /// <param name="Acknowledgements">One report per subtask, ordered by <see cref="SubtaskId"/>.</param>
    public sealed record FinalizeCheckpoint(long CheckpointId, IReadOnlyList<SubtaskAcknowledgement> Acknowledgements) : CheckpointCommand;

    /// <summary>Tell every subtask that <paramref name="CheckpointId"/> completed (Flink's <c>notifyCheckpointComplete</c>): sinks commit what they prepared for it.</summary>
    public sealed record NotifyCheckpointComplete(long CheckpointId) : CheckpointCommand;

    /// <summary>
    /// Tell every subtask that <paramref name="CheckpointId"/> was aborted (Flink's
    /// <c>notifyCheckpointAborted</c>): stop aligning it and drop what was written for it.
    /// </summary>
    /// <param name="CheckpointId">The aborted checkpoint.</param>
    /// <param name="Reason">Why.</param>
    /// <param name="Detail">A sentence for logs and statistics.</param>
    public sealed record NotifyCheckpointAborted(long CheckpointId, CheckpointAbortReason Reason, string Detail) : CheckpointCommand;

    /// <summary>
    /// A subtask acknowledged a checkpoint that is no longer in flight (aborted, subsumed or from
    /// before a restart): delete what it wrote, nothing will ever reference it.
    /// </summary>
    public sealed record DiscardLateSnapshot(long CheckpointId, SubtaskId Subtask) : CheckpointCommand;

    /// <summary>More checkpoints failed in a row than <see cref="CheckpointOptions.TolerableConsecutiveFailures"/> allows: fail the job.</summary>
    /// <param name="Reason">A sentence naming the count and the last failure.</param>
    public sealed record FailJob(string Reason) : CheckpointCommand;

    /// <summary>A subtask's acknowledgement of a checkpoint.</summary>
    public readonly record struct SubtaskAcknowledgement(SubtaskId Subtask, SubtaskSnapshotReport Report);
}
