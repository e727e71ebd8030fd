using System;
using System.Collections.Generic;

namespace Weir.Checkpointing.Coordinator
{
    /// <summary>The phases of one checkpoint between its trigger and its end (completed or aborted).</summary>
    public enum CheckpointPhase
    {
        /// <summary>Barriers are on their way; some subtasks have not acknowledged yet. The timeout applies.</summary>
        Pending,

        /// <summary>
        /// Every subtask acknowledged, but an older checkpoint's metadata is being written; this one
        /// is finalized next (one metadata write at a time, in ID order, so a newer completed
        /// checkpoint is never followed by an older one).
        /// </summary>
        AwaitingFinalization,

        /// <summary>The caller is writing the metadata (<see cref="FinalizeCheckpoint"/> was issued).</summary>
        Finalizing,
    }

    /// <summary>The coordinator's bookkeeping for one checkpoint that has not ended.</summary>
    internal sealed class InFlightCheckpoint
    {
        private readonly SortedDictionary<SubtaskId, SubtaskSnapshotReport> _acknowledged = new();

        public InFlightCheckpoint(long id, CheckpointTrigger trigger, int attempt, TimeSpan triggeredAt, TimeSpan deadline, int subtaskCount)
        {
            Id = id;
            Trigger = trigger;
            Attempt = attempt;
            TriggeredAt = triggeredAt;
            Deadline = deadline;
            SubtaskCount = subtaskCount;
        }

        public long Id { get; }

        public CheckpointTrigger Trigger { get; }

        /// <summary>The job attempt (incremented at every restart) that triggered it; a checkpoint of an earlier attempt completes without notifying anyone.</summary>
        public int Attempt { get; }

        /// <summary>Coordinator time of the trigger.</summary>
        public TimeSpan TriggeredAt { get; }

        /// <summary>Coordinator time at which it expires if still <see cref="CheckpointPhase.Pending"/>.</summary>
        public TimeSpan Deadline { get; }

        public int SubtaskCount { get; }

        public CheckpointPhase Phase { get; set; } = CheckpointPhase.Pending;

        public bool IsFullyAcknowledged => _acknowledged.Count == SubtaskCount;

        /// <summary>Records a subtask's report; false if it had already acknowledged (a duplicate, ignored).</summary>
        public bool Acknowledge(SubtaskId subtask, SubtaskSnapshotReport report) => _acknowledged.TryAdd(subtask, report);

        /// <summary>Every acknowledgement, ordered by subtask.</summary>
        public SubtaskAcknowledgement[] Acknowledgements()
        {
            var result = new SubtaskAcknowledgement[_acknowledged.Count];
            int i = 0;
            foreach (KeyValuePair<SubtaskId, SubtaskSnapshotReport> entry in _acknowledged)
            {
                result[i++] = new SubtaskAcknowledgement(entry.Key, entry.Value);
            }

            return result;
        }
    }
}
