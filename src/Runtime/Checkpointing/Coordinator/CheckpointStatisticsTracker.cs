using System;
using System.Collections.Generic;

namespace Weir.Checkpointing.Coordinator
{
    /// <summary>
    /// Collects <see cref="CheckpointStatistics"/> as the coordinator's checkpoints move through
    /// their phases. Entries are mutable while a checkpoint is in flight and turned into immutable
    /// <see cref="CheckpointSummary"/> records only when a snapshot is asked for, so the coordinator
    /// pays one small object per acknowledgement, not a copy per event.
    /// </summary>
    internal sealed class CheckpointStatisticsTracker
    {
        private readonly int _historySize;

        // Newest last. Holds every in-progress checkpoint and up to _historySize ended ones.
        private readonly List<Entry> _recent = new();
        private readonly Dictionary<long, Entry> _byId = new();
        private long _triggered;
        private long _completed;
        private long _aborted;
        private long? _restoredCheckpointId;
        private CheckpointSummary? _latestCompleted;
        private CheckpointSummary? _latestAborted;

        public CheckpointStatisticsTracker(int historySize) => _historySize = historySize;

        public void OnRestored(long checkpointId) => _restoredCheckpointId = checkpointId;

        public void OnTriggered(long id, CheckpointTrigger trigger, DateTimeOffset triggerTime, int totalSubtasks)
        {
            var entry = new Entry(id, trigger, triggerTime, totalSubtasks);
            _recent.Add(entry);
            _byId.Add(id, entry);
            _triggered++;
        }

        public void OnAcknowledged(long id, SubtaskId subtask, TimeSpan acknowledgedAfter, SubtaskSnapshotReport report)
        {
            if (_byId.TryGetValue(id, out Entry? entry))
            {
                entry.Subtasks.Add(new SubtaskCheckpointStatistics(
                    subtask, acknowledgedAfter, report.SyncDuration, report.AsyncDuration, report.AlignmentDuration, report.BytesWritten, report.FullStateSize));
            }
        }

        public void OnCompleted(long id, TimeSpan endToEnd)
        {
            Entry entry = End(id, CheckpointStatus.Completed, endToEnd);
            _completed++;
            _latestCompleted = entry.ToSummary();
        }

        public void OnAborted(long id, TimeSpan endToEnd, CheckpointAbortReason reason, string detail)
        {
            Entry entry = End(id, CheckpointStatus.Aborted, endToEnd);
            entry.AbortReason = reason;
            entry.AbortDetail = detail;
            _aborted++;
            _latestAborted = entry.ToSummary();
        }

        public CheckpointStatistics Snapshot(int consecutiveFailures)
        {
            var history = new CheckpointSummary[_recent.Count];
            for (int i = 0; i < history.Length; i++)
            {
                history[i] = _recent[_recent.Count - 1 - i].ToSummary();
            }

            return new CheckpointStatistics(
                _triggered,
                _completed,
                _aborted,
                _byId.Count,
                consecutiveFailures,
                _restoredCheckpointId,
                _latestCompleted,
                _latestAborted,
                history);
        }

        private Entry End(long id, CheckpointStatus status, TimeSpan endToEnd)
        {
            Entry entry = _byId[id];
            _byId.Remove(id);
            entry.Status = status;
            entry.EndToEnd = endToEnd;
            TrimEndedEntries();
            return entry;
        }

        // Drops the oldest ended checkpoints beyond the history size; in-progress ones always stay,
        // since they still receive acknowledgements and must be reported.
        private void TrimEndedEntries()
        {
            int ended = _recent.Count - _byId.Count;
            for (int i = 0; i < _recent.Count && ended > _historySize;)
            {
                if (_recent[i].Status != CheckpointStatus.InProgress)
                {
                    _recent.RemoveAt(i);
                    ended--;
                }
                else
                {
                    i++;
                }
            }
        }

        private sealed class Entry
        {
            public Entry(long id, CheckpointTrigger trigger, DateTimeOffset triggerTime, int totalSubtasks)
            {
                Id = id;
                Trigger = trigger;
                TriggerTime = triggerTime;
                TotalSubtasks = totalSubtasks;
            }

            public long Id { get; }

            public CheckpointTrigger Trigger { get; }

            public DateTimeOffset TriggerTime { get; }

            public int TotalSubtasks { get; }

            public List<SubtaskCheckpointStatistics> Subtasks { get; } = new();

            public CheckpointStatus Status { get; set; } = CheckpointStatus.InProgress;

            public TimeSpan? EndToEnd { get; set; }

            public CheckpointAbortReason? AbortReason { get; set; }

            public string? AbortDetail { get; set; }

            public CheckpointSummary ToSummary()
            {
                SubtaskCheckpointStatistics[] subtasks = Subtasks.ToArray();
                Array.Sort(subtasks, static (a, b) => a.Subtask.CompareTo(b.Subtask));
                return new CheckpointSummary(Id, Trigger, Status, TriggerTime, EndToEnd, TotalSubtasks, AbortReason, AbortDetail, subtasks);
            }
        }
    }
}
