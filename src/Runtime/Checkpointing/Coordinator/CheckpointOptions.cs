using System;
using System.Collections.Generic;

namespace Weir.Checkpointing.Coordinator
{
    /// <summary>The consistency a checkpoint gives on recovery, which decides how barriers are aligned.</summary>
    public enum CheckpointingMode
    {
        /// <summary>
        /// Every record affects the restored state exactly once: a subtask with several inputs
        /// blocks each input that delivered the barrier until all have (aligned barriers), so the
        /// snapshot holds no record that arrived after the barrier on any input.
        /// </summary>
        ExactlyOnce,

        /// <summary>
        /// No input is blocked; the snapshot is taken when the last input delivers the barrier, so
        /// records that arrived after the barrier on a faster input are in the snapshot and are
        /// replayed again after a restore (at least once, never lost).
        /// </summary>
        AtLeastOnce,
    }

    /// <summary>
    /// When and how the <see cref="CheckpointCoordinator"/> takes checkpoints (Flink's
    /// <c>execution.checkpointing.*</c> options). <see cref="Validate"/> checks every value and names
    /// each problem; the coordinator refuses invalid options.
    /// </summary>
    public sealed record CheckpointOptions
    {
        /// <summary>
        /// How often a periodic checkpoint is triggered, measured from the previous trigger; null
        /// disables periodic checkpoints (only <see cref="CheckpointCoordinator.TriggerManually"/>
        /// starts one). A trigger that is due is delayed, never skipped, while
        /// <see cref="MaxConcurrentCheckpoints"/> or <see cref="MinPauseBetweenCheckpoints"/> forbid it.
        /// </summary>
        public TimeSpan? Interval { get; init; }

        /// <summary>
        /// How long a checkpoint may wait for every subtask's acknowledgement before it is aborted
        /// as expired (a failure). Flink's default: 10 minutes.
        /// </summary>
        public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(10);

        /// <summary>
        /// The least time between the completion of a checkpoint and the trigger of the next one,
        /// so a job whose checkpoints take longer than the interval still makes progress between
        /// them. As in Flink it is measured from the last <em>completed</em> checkpoint (an aborted
        /// one does not delay the next). A non-zero pause requires
        /// <see cref="MaxConcurrentCheckpoints"/> = 1: a pause after each completion cannot hold while
        /// another checkpoint is already running.
        /// </summary>
        public TimeSpan MinPauseBetweenCheckpoints { get; init; } = TimeSpan.Zero;

        /// <summary>
        /// How many checkpoints may be in flight (triggered and not yet completed or aborted) at
        /// once. Flink's default: 1.
        /// </summary>
        public int MaxConcurrentCheckpoints { get; init; } = 1;

        /// <summary>
        /// How many checkpoints in a row may fail (expire, be declined by a failed snapshot, or fail
        /// to be finalized) before the job is failed. 0 (Flink's effective default) fails the job
        /// on the first failure. Any completed checkpoint resets the count.
        /// </summary>
        public int TolerableConsecutiveFailures { get; init; }

        /// <summary>Exactly-once (aligned barriers, the default) or at-least-once (no alignment).</summary>
        public CheckpointingMode Mode { get; init; } = CheckpointingMode.ExactlyOnce;

        /// <summary>How many of the most recent checkpoints <see cref="CheckpointStatistics.History"/> keeps (Flink's <c>web.checkpoints.history</c>: 10).</summary>
        public int StatisticsHistorySize { get; init; } = 10;

        /// <summary>Every problem with these options, one sentence each; empty when they are valid.</summary>
        public IReadOnlyList<string> Problems()
        {
            var problems = new List<string>();
            if (Interval is { } interval && interval <= TimeSpan.Zero)
            {
                problems.Add($"Interval must be positive (or null to disable periodic checkpoints), but is {interval}.");
            }

            if (Timeout <= TimeSpan.Zero)
            {
                problems.Add($"Timeout must be positive, but is {Timeout}.");
            }

            if (MinPauseBetweenCheckpoints < TimeSpan.Zero)
            {
                problems.Add($"MinPauseBetweenCheckpoints must not be negative, but is {MinPauseBetweenCheckpoints}.");
            }

            if (MaxConcurrentCheckpoints < 1)
            {
                problems.Add($"MaxConcurrentCheckpoints must be at least 1, but is {MaxConcurrentCheckpoints}.");
            }
            else if (MaxConcurrentCheckpoints > 1 && MinPauseBetweenCheckpoints > TimeSpan.Zero)
            {
                problems.Add(
                    $"MinPauseBetweenCheckpoints ({MinPauseBetweenCheckpoints}) requires MaxConcurrentCheckpoints = 1, but it is {MaxConcurrentCheckpoints}: " +
                    "a pause after each completed checkpoint cannot hold while another one runs. Set one of them back to its default.");
            }

            if (TolerableConsecutiveFailures < 0)
            {
                problems.Add($"TolerableConsecutiveFailures must not be negative, but is {TolerableConsecutiveFailures}.");
            }

            if (!Enum.IsDefined(Mode))
            {
                problems.Add($"Mode must be ExactlyOnce or AtLeastOnce, but is {(int)Mode}.");
            }

            if (StatisticsHistorySize < 0)
            {
                problems.Add($"StatisticsHistorySize must not be negative, but is {StatisticsHistorySize}.");
            }

            return problems;
        }

        /// <summary>Throws an <see cref="ArgumentException"/> listing every problem, if there is any.</summary>
        public void Validate()
        {
            IReadOnlyList<string> problems = Problems();
            if (problems.Count > 0)
            {
                throw new ArgumentException("Invalid checkpoint options: " + string.Join(" ", problems));
            }
        }
    }
}
