using System;

namespace Weir.Checkpointing.Coordinator
{
    /// <summary>One parallel instance of a chain: the unit that takes a snapshot and acknowledges it.</summary>
    /// <param name="Chain">The chain's index in the job plan.</param>
    /// <param name="Subtask">The subtask's index within the chain, from 0 to the chain's parallelism - 1.</param>
    public readonly record struct SubtaskId(int Chain, int Subtask) : IComparable<SubtaskId>
    {
        /// <summary>Orders by chain, then subtask, so reports and statistics list subtasks in plan order.</summary>
        public int CompareTo(SubtaskId other)
        {
            int byChain = Chain.CompareTo(other.Chain);
            return byChain != 0 ? byChain : Subtask.CompareTo(other.Subtask);
        }

        /// <summary>"chain 2, subtask 3".</summary>
        public override string ToString() => $"chain {Chain}, subtask {Subtask}";
    }

    /// <summary>What started a checkpoint.</summary>
    public enum CheckpointTrigger
    {
        /// <summary>The interval elapsed (<see cref="CheckpointOptions.Interval"/>).</summary>
        Periodic,

        /// <summary>A user asked for it (<see cref="CheckpointCoordinator.TriggerManually"/>).</summary>
        Manual,
    }

    /// <summary>
    /// What a subtask reports when it acknowledges a checkpoint: how long its parts of the snapshot
    /// took and how much it wrote. Where the state was written is the caller's business (it keeps
    /// the handles per checkpoint and subtask); the coordinator only decides and measures.
    /// </summary>
    /// <param name="SyncDuration">The synchronous part: the subtask's records stop while its state is captured.</param>
    /// <param name="AsyncDuration">The asynchronous part: writing the captured state to storage while records flow again.</param>
    /// <param name="AlignmentDuration">From the first to the last barrier at the subtask's inputs (zero for a source or a single input).</param>
    /// <param name="BytesWritten">Bytes this checkpoint wrote for the subtask (for an incremental checkpoint, only what changed).</param>
    /// <param name="FullStateSize">The size of the subtask's whole state in this checkpoint, counting files shared with earlier ones.</param>
    public sealed record SubtaskSnapshotReport(
        TimeSpan SyncDuration,
        TimeSpan AsyncDuration,
        TimeSpan AlignmentDuration,
        long BytesWritten,
        long FullStateSize)
    {
        /// <summary>A report with no durations and no bytes (a stateless subtask).</summary>
        public static SubtaskSnapshotReport Empty { get; } = new(TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, 0, 0);
    }

    /// <summary>Why a subtask declined a checkpoint; decides whether the abort counts as a failure.</summary>
    public enum CheckpointDeclineReason
    {
        /// <summary>The subtask could not write its snapshot (Flink's async-phase failure): counts towards <see cref="CheckpointOptions.TolerableConsecutiveFailures"/>.</summary>
        SnapshotFailed,

        /// <summary>A newer barrier overtook this checkpoint during alignment; the newer one carries on, so this is not a failure.</summary>
        SubsumedByNewerBarrier,

        /// <summary>An upstream subtask cancelled this checkpoint (a cancellation marker); the upstream decline is what counts, not this one.</summary>
        CancelledUpstream,

        /// <summary>
        /// The subtask reads one input to its end before the other (<c>BroadcastFirst</c>), so it
        /// cannot align a barrier that arrives meanwhile without deadlocking: it declines, which is
        /// not a failure; checkpoints go on once that input has ended.
        /// </summary>
        InputReadFirst,
    }

    /// <summary>Why a checkpoint was aborted.</summary>
    public enum CheckpointAbortReason
    {
        /// <summary>Not every subtask acknowledged within <see cref="CheckpointOptions.Timeout"/>. A failure.</summary>
        Expired,

        /// <summary>A subtask declined it (<see cref="CheckpointCoordinator.Decline"/>). A failure only for <see cref="CheckpointDeclineReason.SnapshotFailed"/>.</summary>
        Declined,

        /// <summary>Writing its metadata failed (<see cref="CheckpointCoordinator.MarkFinalizeFailed"/>). A failure.</summary>
        FinalizeFailed,

        /// <summary>A newer checkpoint completed first, so this one can never be restored from. Not a failure.</summary>
        Subsumed,

        /// <summary>The job failed or stopped while it was in flight. Not a checkpoint failure.</summary>
        JobFailed,
    }
}
