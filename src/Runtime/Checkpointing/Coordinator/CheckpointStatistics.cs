using System;
using System.Collections.Generic;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Weir.Checkpointing.Coordinator
{
    /// <summary>Where a checkpoint is in its life, as statistics report it.</summary>
    public enum CheckpointStatus
    {
        /// <summary>Triggered, not yet completed or aborted.</summary>
        InProgress,

        /// <summary>Its metadata is durable: it can be restored from.</summary>
        Completed,

        /// <summary>It ended without becoming restorable.</summary>
        Aborted,
    }

    /// <summary>One subtask's part of one checkpoint (Flink's per-subtask checkpoint details).</summary>
    /// <param name="Subtask">The subtask.</param>
    /// <param name="AcknowledgedAfter">From the trigger to the coordinator receiving the acknowledgement.</param>
    /// <param name="SyncDuration">See <see cref="SubtaskSnapshotReport.SyncDuration"/>.</param>
    /// <param name="AsyncDuration">See <see cref="SubtaskSnapshotReport.AsyncDuration"/>.</param>
    /// <param name="AlignmentDuration">See <see cref="SubtaskSnapshotReport.AlignmentDuration"/>.</param>
    /// <param name="BytesWritten">See <see cref="SubtaskSnapshotReport.BytesWritten"/>.</param>
    /// <param name="FullStateSize">See <see cref="SubtaskSnapshotReport.FullStateSize"/>.</param>
    public sealed record SubtaskCheckpointStatistics(
        SubtaskId Subtask,
        TimeSpan AcknowledgedAfter,
        TimeSpan SyncDuration,
        TimeSpan AsyncDuration,
        TimeSpan AlignmentDuration,
        long BytesWritten,
        long FullStateSize);

    /// <summary>
    /// One checkpoint's statistics. The totals and maxima are computed from
    /// <see cref="Subtasks"/> (they are written to JSON for readers, and recomputed when read back).
    /// </summary>
    /// <param name="Id">The checkpoint ID.</param>
    /// <param name="Trigger">What started it.</param>
    /// <param name="Status">In progress, completed or aborted.</param>
    /// <param name="TriggerTime">When it was triggered (wall clock).</param>
    /// <param name="EndToEndDuration">From the trigger to completion (metadata durable) or abort; null while in progress.</param>
    /// <param name="TotalSubtasks">How many subtasks must acknowledge it.</param>
    /// <param name="AbortReason">Why it was aborted, if it was.</param>
    /// <param name="AbortDetail">The abort's explanation, if it was aborted.</param>
    /// <param name="Subtasks">The subtasks that acknowledged, ordered by subtask.</param>
    public sealed record CheckpointSummary(
        long Id,
        CheckpointTrigger Trigger,
        CheckpointStatus Status,
        DateTimeOffset TriggerTime,
        TimeSpan? EndToEndDuration,
        int TotalSubtasks,
        CheckpointAbortReason? AbortReason,
        string? AbortDetail,
        IReadOnlyList<SubtaskCheckpointStatistics> Subtasks)
    {
        /// <summary>How many subtasks acknowledged.</summary>
        public int AcknowledgedSubtasks => Subtasks.Count;

        /// <summary>Bytes written by all subtasks (the checkpoint's incremental size, Flink's "Checkpointed Data Size").</summary>
        public long BytesWritten => Sum(static s => s.BytesWritten);

        /// <summary>The whole state's size over all subtasks (Flink's "Full Checkpoint Data Size").</summary>
        public long FullStateSize => Sum(static s => s.FullStateSize);

        /// <summary>The slowest subtask's synchronous part: how long records stopped at most.</summary>
        public TimeSpan MaxSyncDuration => Max(static s => s.SyncDuration);

        /// <summary>The slowest subtask's asynchronous part.</summary>
        public TimeSpan MaxAsyncDuration => Max(static s => s.AsyncDuration);

        /// <summary>The longest alignment: how long an input was blocked at most (exactly-once).</summary>
        public TimeSpan MaxAlignmentDuration => Max(static s => s.AlignmentDuration);

        private long Sum(Func<SubtaskCheckpointStatistics, long> of)
        {
            long total = 0;
            foreach (SubtaskCheckpointStatistics subtask in Subtasks)
            {
                total += of(subtask);
            }

            return total;
        }

        private TimeSpan Max(Func<SubtaskCheckpointStatistics, TimeSpan> of)
        {
            TimeSpan max = TimeSpan.Zero;
            foreach (SubtaskCheckpointStatistics subtask in Subtasks)
            {
                TimeSpan value = of(subtask);
                if (value > max)
                {
                    max = value;
                }
            }

            return max;
        }
    }

    /// <summary>
    /// The coordinator's checkpoint statistics at one moment (Flink's checkpoint statistics: counts,
    /// latest completed and aborted, recent history). An immutable snapshot: later checkpoints do
    /// not change it. Serializes to JSON with a source-generated context, so it works under Native AOT.
    /// </summary>
    /// <param name="Triggered">Checkpoints triggered since the coordinator was created.</param>
    /// <param name="Completed">Of those, completed.</param>
    /// <param name="Aborted">Of those, aborted.</param>
    /// <param name="InProgress">Of those, neither yet.</param>
    /// <param name="ConsecutiveFailures">Failures since the last completed checkpoint that count against <see cref="CheckpointOptions.TolerableConsecutiveFailures"/>.</param>
    /// <param name="RestoredCheckpointId">The checkpoint the job last restored from, if any.</param>
    /// <param name="LatestCompleted">The newest completed checkpoint, even if it left <see cref="History"/>.</param>
    /// <param name="LatestAborted">The newest aborted checkpoint, even if it left <see cref="History"/>.</param>
    /// <param name="History">The most recent checkpoints, newest first, at most <see cref="CheckpointOptions.StatisticsHistorySize"/> of those that ended plus those in progress.</param>
    public sealed record CheckpointStatistics(
        long Triggered,
        long Completed,
        long Aborted,
        int InProgress,
        int ConsecutiveFailures,
        long? RestoredCheckpointId,
        CheckpointSummary? LatestCompleted,
        CheckpointSummary? LatestAborted,
        IReadOnlyList<CheckpointSummary> History)
    {
        /// <summary>Indented JSON with camel-case names and enums as strings.</summary>
        public string ToJson() => JsonSerializer.Serialize(this, CheckpointStatisticsJsonContext.Default.CheckpointStatistics);

        /// <summary>Reads statistics written by <see cref="ToJson"/>.</summary>
        /// <exception cref="JsonException">The text is not such statistics.</exception>
        public static CheckpointStatistics FromJson(string json)
            => JsonSerializer.Deserialize(json, CheckpointStatisticsJsonContext.Default.CheckpointStatistics)
               ?? throw new JsonException("Checkpoint statistics JSON is 'null'.");
    }

    /// <summary>
    /// The System.Text.Json metadata for <see cref="CheckpointStatistics"/>, generated at build time
    /// so serializing needs no reflection (trimming and Native AOT keep working).
    /// </summary>
    [JsonSourceGenerationOptions(
        WriteIndented = true,
        PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
        UseStringEnumConverter = true)]
    [JsonSerializable(typeof(CheckpointStatistics))]
    public sealed partial class CheckpointStatisticsJsonContext : JsonSerializerContext;
}
