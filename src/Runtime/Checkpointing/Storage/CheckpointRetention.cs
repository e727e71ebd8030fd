using System;

namespace Weir.Checkpointing.Storage
{
    /// <summary>How many completed checkpoints a job keeps, and what happens to them when it ends.</summary>
    public sealed record CheckpointRetention
    {
        private readonly int _retainedCheckpoints = 1;

        /// <summary>
        /// How many of the most recent completed checkpoints are kept (Flink's
        /// <c>state.checkpoints.num-retained</c>, default 1); older ones are subsumed and deleted.
        /// </summary>
        public int RetainedCheckpoints
        {
            get => _retainedCheckpoints;
            init => _retainedCheckpoints = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(RetainedCheckpoints), value, "At least one checkpoint must be retained.");
        }

        /// <summary>
        /// Keep the retained checkpoints when the job is cancelled (Flink's RETAIN_ON_CANCELLATION), so
        /// it can be resumed later; otherwise cancellation deletes them. A failed or killed job always
        /// keeps them (that is what recovery is for); so does a finished job: its final checkpoint
        /// records every source as read to its end and every sink as committed, so running the same
        /// command again resumes from it and writes nothing twice (start over with a fresh start).
        /// </summary>
        public bool RetainOnCancellation { get; init; }
    }

    /// <summary>How a job ended, which decides what <see cref="CheckpointCatalog.Close"/> keeps.</summary>
    public enum JobTermination
    {
        /// <summary>All input was processed and committed: the final checkpoint is kept, so a rerun of the same command does not repeat output.</summary>
        Finished,

        /// <summary>Cancelled by the user: checkpoints are kept only with <see cref="CheckpointRetention.RetainOnCancellation"/>.</summary>
        Cancelled,

        /// <summary>Failed: checkpoints are kept so a restart resumes from the latest.</summary>
        Failed,
    }
}
