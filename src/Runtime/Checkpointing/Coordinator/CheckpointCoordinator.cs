using System;
using System.Collections.Generic;
using System.Threading;

namespace Weir.Checkpointing.Coordinator
{
    /// <summary>Whether the coordinator triggers checkpoints.</summary>
    public enum CoordinatorState
    {
        /// <summary>Created; nothing is triggered until <see cref="CheckpointCoordinator.Start"/>.</summary>
        Created,

        /// <summary>The job runs: periodic and manual checkpoints are triggered.</summary>
        Running,

        /// <summary>
        /// The job failed (<see cref="CheckpointCoordinator.JobFailed"/>, or the coordinator issued
        /// <see cref="FailJob"/>): nothing is triggered until <see cref="CheckpointCoordinator.JobRestarted"/>.
        /// </summary>
        Suspended,
    }

    /// <summary>
    /// Decides when checkpoints start, end and fail: Flink's checkpoint coordinator as an explicit,
    /// deterministic state machine. It does no I/O and starts no thread. Inputs are method calls
    /// (time passing, acknowledgements, declines, the metadata write's outcome, job failure and
    /// restart); outputs are the <see cref="CheckpointCommand"/>s each call returns, which the caller
    /// carries out in order. Time comes from a <see cref="TimeProvider"/> (its monotonic timestamp for
    /// intervals, deadlines and durations; its wall clock only for the timestamps reported), so tests
    /// drive it with a fake clock.
    /// <para><b>Coordinator states</b> (<see cref="State"/>):</para>
    /// <code>
    ///   Created --Start--> Running --JobFailed / FailJob issued--> Suspended --JobRestarted--> Running
    /// </code>
    /// <para><b>Checkpoint phases</b> (one checkpoint; <see cref="CheckpointPhase"/>):</para>
    /// <code>
    ///   trigger (Tick, TriggerManually) ──InjectBarrier──> Pending
    ///   Pending ──last Acknowledge──> Finalizing                 (FinalizeCheckpoint issued)
    ///           └─ if another is Finalizing ──> AwaitingFinalization ──its turn──> Finalizing
    ///   Finalizing ──MarkCompleted──> Completed                  (NotifyCheckpointComplete; older in-flight ones: Subsumed)
    ///   Pending ──Tick past timeout──> Aborted(Expired)          failure
    ///   Pending ──Decline──> Aborted(Declined)                   failure if SnapshotFailed
    ///   Finalizing ──MarkFinalizeFailed──> Aborted(FinalizeFailed) failure
    ///   Pending, AwaitingFinalization ──JobFailed──> Aborted(JobFailed)
    /// </code>
    /// <para>
    /// Rules: checkpoint IDs only grow, also across restarts and restores (the next ID is greater than
    /// every ID issued and than the restored one). A checkpoint is triggered only while
    /// <see cref="CoordinatorState.Running"/>, with fewer than
    /// <see cref="CheckpointOptions.MaxConcurrentCheckpoints"/> in flight and at least
    /// <see cref="CheckpointOptions.MinPauseBetweenCheckpoints"/> after the last completion; a due
    /// periodic trigger or a queued manual one waits for those conditions, and any trigger sets the
    /// next periodic one an interval later. Expiries, declines by a failed snapshot and failed
    /// metadata writes count as failures; when the count exceeds <see cref="CheckpointOptions.TolerableConsecutiveFailures"/> the coordinator issues
    /// <see cref="FailJob"/>, resets the count and suspends itself. A completion resets it.
    /// Metadata is written one checkpoint at a time, in ID order.
    /// </para>
    /// <para>
    /// Thread-safety: calls are serialized by an internal lock, so acknowledgements may arrive from
    /// subtask threads; but commands are returned to whichever thread called, so a caller that wants
    /// them carried out in decision order (it should) feeds the coordinator from one thread.
    /// </para>
    /// </summary>
    public sealed class CheckpointCoordinator
    {
        private static readonly CheckpointCommand[] NoCommands = [];

        private readonly Lock _lock = new();
        private readonly CheckpointOptions _options;
        private readonly TimeProvider _clock;
        private readonly long _origin;
        private readonly HashSet<SubtaskId> _subtasks;

        // In flight (pending, awaiting finalization or finalizing), ordered by ID.
        private readonly SortedDictionary<long, InFlightCheckpoint> _inFlight = new();
        private readonly CheckpointStatisticsTracker _statistics;

        private long _nextCheckpointId = 1;
        private long _lastCompletedId;
        private TimeSpan? _lastCompletedAt;
        private TimeSpan _nextPeriodicTrigger;
        private int _queuedManualTriggers;
        private int _consecutiveFailures;
        private int _attempt;

        /// <summary>Creates a coordinator in <see cref="CoordinatorState.Created"/>.</summary>
        /// <param name="options">The checkpoint options; validated here.</param>
        /// <param name="subtasks">Every subtask that must acknowledge each checkpoint.</param>
        /// <param name="clock">The time source; <see cref="TimeProvider.System"/> if null.</param>
        /// <exception cref="ArgumentException">The options are invalid, or the subtasks are empty or repeat one.</exception>
        public CheckpointCoordinator(CheckpointOptions options, IEnumerable<SubtaskId> subtasks, TimeProvider? clock = null)
        {
            ArgumentNullException.ThrowIfNull(options);
            ArgumentNullException.ThrowIfNull(subtasks);
            options.Validate();
            _options = options;
            _clock = clock ?? TimeProvider.System;
            _origin = _clock.GetTimestamp();
            _subtasks = new HashSet<SubtaskId>();
            foreach (SubtaskId subtask in subtasks)
            {
                if (!_subtasks.Add(subtask))
                {
                    throw new ArgumentException($"Subtask ({subtask}) is listed twice.", nameof(subtasks));
                }
            }

            if (_subtasks.Count == 0)
            {
                throw new ArgumentException("A checkpoint needs at least one subtask to acknowledge it.", nameof(subtasks));
            }

            _statistics = new CheckpointStatisticsTracker(options.StatisticsHistorySize);
        }

        /// <summary>The options the coordinator runs with.</summary>
        public CheckpointOptions Options => _options;

        /// <summary>Created, running or suspended.</summary>
        public CoordinatorState State { get; private set; } = CoordinatorState.Created;

        /// <summary>The ID the next triggered checkpoint will get.</summary>
        public long NextCheckpointId
        {
            get
            {
                lock (_lock)
                {
                    return _nextCheckpointId;
                }
            }
        }

        /// <summary>The newest completed checkpoint's ID, or 0 if none completed (a restore does not count).</summary>
        public long LatestCompletedCheckpointId
        {
            get
            {
                lock (_lock)
                {
                    return _lastCompletedId;
                }
            }
        }

        /// <summary>How many checkpoints are in flight.</summary>
        public int InFlightCount
        {
            get
            {
                lock (_lock)
                {
                    return _inFlight.Count;
                }
            }
        }

        /// <summary>A checkpoint's phase, or null if it is not in flight (never triggered, completed or aborted).</summary>
        public CheckpointPhase? PhaseOf(long checkpointId)
        {
            lock (_lock)
            {
                return _inFlight.TryGetValue(checkpointId, out InFlightCheckpoint? checkpoint) ? checkpoint.Phase : null;
            }
        }

        /// <summary>The statistics now: an immutable snapshot.</summary>
        public CheckpointStatistics Statistics()
        {
            lock (_lock)
            {
                return _statistics.Snapshot(_consecutiveFailures);
            }
        }

        /// <summary>
        /// How long until <see cref="Tick"/> has something to do (a periodic trigger falling due, a
        /// checkpoint expiring, the minimum pause ending for a waiting trigger); <see cref="TimeSpan.Zero"/>
        /// if it has now; null if nothing depends on time (then only another input changes that). A
        /// caller can sleep this long instead of ticking at a fixed rate.
        /// </summary>
        public TimeSpan? DelayUntilNextTick()
        {
            lock (_lock)
            {
                TimeSpan now = Now();
                TimeSpan? earliest = null;
                foreach (InFlightCheckpoint checkpoint in _inFlight.Values)
                {
                    if (checkpoint.Phase == CheckpointPhase.Pending)
                    {
                        earliest = Earlier(earliest, checkpoint.Deadline);
                    }
                }

                bool triggerWaiting = State == CoordinatorState.Running
                    && (_queuedManualTriggers > 0 || _options.Interval is not null);
                if (triggerWaiting && _inFlight.Count < _options.MaxConcurrentCheckpoints)
                {
                    TimeSpan due = _queuedManualTriggers > 0 ? now : _nextPeriodicTrigger;
                    if (_lastCompletedAt is { } completedAt && completedAt + _options.MinPauseBetweenCheckpoints > due)
                    {
                        due = completedAt + _options.MinPauseBetweenCheckpoints;
                    }

                    earliest = Earlier(earliest, due);
                }

                return earliest is { } at ? (at > now ? at - now : TimeSpan.Zero) : null;
            }

            static TimeSpan Earlier(TimeSpan? a, TimeSpan b) => a is { } value && value < b ? value : b;
        }

        /// <summary>
        /// Created → Running: the job's subtasks run, so barriers can flow. The first periodic
        /// checkpoint is due one interval from now.
        /// </summary>
        /// <param name="restoredCheckpointId">The checkpoint the job was restored from, if any: every new ID is greater.</param>
        /// <exception cref="InvalidOperationException">The coordinator was already started.</exception>
        public IReadOnlyList<CheckpointCommand> Start(long? restoredCheckpointId = null)
        {
            lock (_lock)
            {
                if (State != CoordinatorState.Created)
                {
                    throw new InvalidOperationException($"The checkpoint coordinator was already started (it is {State}); use JobRestarted after a failure.");
                }

                CheckRestoredId(restoredCheckpointId);
                return Resume(restoredCheckpointId);
            }
        }

        /// <summary>
        /// Time passed: aborts every pending checkpoint past its timeout (each a failure), then
        /// triggers queued manual checkpoints and a due periodic one as far as the limits allow.
        /// </summary>
        public IReadOnlyList<CheckpointCommand> Tick()
        {
            lock (_lock)
            {
                var commands = new List<CheckpointCommand>();
                TimeSpan now = Now();
                ExpireOverdue(now, commands);
                TriggerWhatIsDue(now, commands);
                return Result(commands);
            }
        }

        /// <summary>
        /// Asks for a checkpoint now, whatever the interval. It is triggered at once if the limits
        /// (concurrency, minimum pause, a running job) allow, otherwise queued and triggered by the
        /// first <see cref="Tick"/> at which they do. Every request yields its own checkpoint.
        /// </summary>
        public IReadOnlyList<CheckpointCommand> TriggerManually()
        {
            lock (_lock)
            {
                _queuedManualTriggers++;
                var commands = new List<CheckpointCommand>();
                TimeSpan now = Now();
                ExpireOverdue(now, commands);
                TriggerWhatIsDue(now, commands);
                return Result(commands);
            }
        }

        /// <summary>
        /// A subtask finished its snapshot for <paramref name="checkpointId"/>. When it was the last
        /// one the checkpoint goes to finalization (or waits for an older one's). An acknowledgement
        /// of a checkpoint no longer in flight yields <see cref="DiscardLateSnapshot"/>; a repeated one
        /// is ignored.
        /// </summary>
        /// <exception cref="ArgumentException">The subtask is not one of the job's, or the ID was never issued.</exception>
        public IReadOnlyList<CheckpointCommand> Acknowledge(long checkpointId, SubtaskId subtask, SubtaskSnapshotReport report)
        {
            ArgumentNullException.ThrowIfNull(report);
            lock (_lock)
            {
                CheckKnown(checkpointId, subtask);
                if (!_inFlight.TryGetValue(checkpointId, out InFlightCheckpoint? checkpoint) || checkpoint.Phase != CheckpointPhase.Pending)
                {
                    // Not pending: aborted, subsumed, from an earlier attempt, or already complete (then
                    // this subtask acknowledged before and it is a duplicate, whose state the first
                    // acknowledgement's metadata may reference: never discard it).
                    return checkpoint is null ? [new DiscardLateSnapshot(checkpointId, subtask)] : NoCommands;
                }

                if (!checkpoint.Acknowledge(subtask, report))
                {
                    return NoCommands;
                }

                _statistics.OnAcknowledged(checkpointId, subtask, Now() - checkpoint.TriggeredAt, report);
                if (!checkpoint.IsFullyAcknowledged)
                {
                    return NoCommands;
                }

                checkpoint.Phase = CheckpointPhase.AwaitingFinalization;
                var commands = new List<CheckpointCommand>();
                StartNextFinalization(commands);
                return Result(commands);
            }
        }

        /// <summary>
        /// A subtask could not take part in <paramref name="checkpointId"/>: the checkpoint is
        /// aborted (if still pending). It counts as a failure only for
        /// <see cref="CheckpointDeclineReason.SnapshotFailed"/>.
        /// </summary>
        /// <exception cref="ArgumentException">The subtask is not one of the job's, or the ID was never issued.</exception>
        public IReadOnlyList<CheckpointCommand> Decline(long checkpointId, SubtaskId subtask, CheckpointDeclineReason reason, string message)
        {
            ArgumentNullException.ThrowIfNull(message);
            lock (_lock)
            {
                CheckKnown(checkpointId, subtask);
                if (!_inFlight.TryGetValue(checkpointId, out InFlightCheckpoint? checkpoint) || checkpoint.Phase != CheckpointPhase.Pending)
                {
                    // Already ended, or every subtask acknowledged (a decline cannot undo a snapshot
                    // that exists; a late decline from a retried attempt is stale).
                    return NoCommands;
                }

                var commands = new List<CheckpointCommand>();
                string detail = $"Declined by {subtask} ({reason}): {message}";
                Abort(checkpoint, CheckpointAbortReason.Declined, detail, reason == CheckpointDeclineReason.SnapshotFailed, commands);
                return Result(commands);
            }
        }

        /// <summary>
        /// The metadata of <paramref name="checkpointId"/> is durable: the checkpoint is completed,
        /// older in-flight ones are subsumed, the failure count resets and, if the checkpoint belongs to
        /// the running attempt, subtasks are notified. The next waiting checkpoint goes to finalization.
        /// </summary>
        /// <exception cref="InvalidOperationException">The checkpoint is not being finalized.</exception>
        public IReadOnlyList<CheckpointCommand> MarkCompleted(long checkpointId)
        {
            lock (_lock)
            {
                InFlightCheckpoint checkpoint = Finalizing(checkpointId, nameof(MarkCompleted));
                TimeSpan now = Now();
                _inFlight.Remove(checkpointId);
                _lastCompletedId = checkpointId;
                _lastCompletedAt = now;
                _consecutiveFailures = 0;
                _statistics.OnCompleted(checkpointId, now - checkpoint.TriggeredAt);

                var commands = new List<CheckpointCommand>();
                if (State == CoordinatorState.Running && checkpoint.Attempt == _attempt)
                {
                    commands.Add(new NotifyCheckpointComplete(checkpointId));
                }

                foreach (InFlightCheckpoint older in InFlightSnapshot())
                {
                    if (older.Id < checkpointId)
                    {
                        Abort(older, CheckpointAbortReason.Subsumed, $"Checkpoint {checkpointId} completed first.", countsAsFailure: false, commands);
                    }
                }

                StartNextFinalization(commands);
                return Result(commands);
            }
        }

        /// <summary>
        /// Writing the metadata of <paramref name="checkpointId"/> failed: the checkpoint is aborted
        /// (a failure) and the next waiting checkpoint goes to finalization.
        /// </summary>
        /// <exception cref="InvalidOperationException">The checkpoint is not being finalized.</exception>
        public IReadOnlyList<CheckpointCommand> MarkFinalizeFailed(long checkpointId, string reason)
        {
            ArgumentNullException.ThrowIfNull(reason);
            lock (_lock)
            {
                InFlightCheckpoint checkpoint = Finalizing(checkpointId, nameof(MarkFinalizeFailed));
                var commands = new List<CheckpointCommand>();
                Abort(checkpoint, CheckpointAbortReason.FinalizeFailed, $"Writing the checkpoint metadata failed: {reason}", countsAsFailure: true, commands);
                StartNextFinalization(commands);
                return Result(commands);
            }
        }

        /// <summary>
        /// The job failed: every checkpoint still waiting for subtasks is aborted (not a checkpoint
        /// failure), queued manual requests wait for the restart, and nothing is triggered until
        /// <see cref="JobRestarted"/>. A checkpoint whose metadata is being written stays
        /// <see cref="CheckpointPhase.Finalizing"/>: its snapshots exist, and the write's outcome decides
        /// whether it is restorable; the caller should wait for it before choosing what to restore.
        /// Ignored when not running.
        /// </summary>
        public IReadOnlyList<CheckpointCommand> JobFailed(string reason)
        {
            ArgumentNullException.ThrowIfNull(reason);
            lock (_lock)
            {
                if (State != CoordinatorState.Running)
                {
                    return NoCommands;
                }

                var commands = new List<CheckpointCommand>();
                Suspend($"The job failed: {reason}", commands);
                return Result(commands);
            }
        }

        /// <summary>
        /// Suspended → Running: the job runs again, restored from <paramref name="restoredCheckpointId"/>
        /// (null: started without state). IDs continue above every ID issued and the restored one; the
        /// next periodic checkpoint is due one interval from now; the failure count is kept (only a
        /// completed checkpoint shows the job is healthy again).
        /// </summary>
        /// <exception cref="InvalidOperationException">The coordinator is not suspended.</exception>
        public IReadOnlyList<CheckpointCommand> JobRestarted(long? restoredCheckpointId)
        {
            lock (_lock)
            {
                if (State != CoordinatorState.Suspended)
                {
                    throw new InvalidOperationException($"JobRestarted needs a suspended coordinator (after JobFailed), but it is {State}.");
                }

                CheckRestoredId(restoredCheckpointId);
                _attempt++;
                return Resume(restoredCheckpointId);
            }
        }

        private IReadOnlyList<CheckpointCommand> Resume(long? restoredCheckpointId)
        {
            if (restoredCheckpointId is { } restored)
            {
                _nextCheckpointId = Math.Max(_nextCheckpointId, restored + 1);
                _statistics.OnRestored(restored);
            }

            State = CoordinatorState.Running;
            TimeSpan now = Now();
            _nextPeriodicTrigger = now + (_options.Interval ?? TimeSpan.Zero);
            var commands = new List<CheckpointCommand>();
            TriggerWhatIsDue(now, commands);
            return Result(commands);
        }

        // Checked before any state changes, so a bad argument leaves the coordinator as it was.
        private static void CheckRestoredId(long? restoredCheckpointId)
        {
            if (restoredCheckpointId is <= 0)
            {
                throw new ArgumentOutOfRangeException(nameof(restoredCheckpointId), restoredCheckpointId, "Checkpoint IDs start at 1.");
            }
        }

        private void ExpireOverdue(TimeSpan now, List<CheckpointCommand> commands)
        {
            foreach (InFlightCheckpoint checkpoint in InFlightSnapshot())
            {
                if (checkpoint.Phase == CheckpointPhase.Pending && now >= checkpoint.Deadline && _inFlight.ContainsKey(checkpoint.Id))
                {
                    string detail = $"Not every subtask acknowledged within {_options.Timeout}.";
                    Abort(checkpoint, CheckpointAbortReason.Expired, detail, countsAsFailure: true, commands);
                }
            }
        }

        private void TriggerWhatIsDue(TimeSpan now, List<CheckpointCommand> commands)
        {
            while (_queuedManualTriggers > 0 && MayTrigger(now))
            {
                _queuedManualTriggers--;
                TriggerCheckpoint(CheckpointTrigger.Manual, now, commands);
            }

            if (_options.Interval is not null && now >= _nextPeriodicTrigger && MayTrigger(now))
            {
                TriggerCheckpoint(CheckpointTrigger.Periodic, now, commands);
            }
        }

        private bool MayTrigger(TimeSpan now)
            => State == CoordinatorState.Running
               && _inFlight.Count < _options.MaxConcurrentCheckpoints
               && (_lastCompletedAt is not { } completedAt || now - completedAt >= _options.MinPauseBetweenCheckpoints);

        private void TriggerCheckpoint(CheckpointTrigger trigger, TimeSpan now, List<CheckpointCommand> commands)
        {
            long id = _nextCheckpointId++;
            DateTimeOffset timestamp = _clock.GetUtcNow();
            _inFlight.Add(id, new InFlightCheckpoint(id, trigger, _attempt, now, now + _options.Timeout, _subtasks.Count));

            // Measured from this trigger, manual or periodic, so a manual checkpoint is not followed
            // at once by a periodic one that was almost due.
            _nextPeriodicTrigger = now + (_options.Interval ?? TimeSpan.Zero);
            _statistics.OnTriggered(id, trigger, timestamp, _subtasks.Count);
            commands.Add(new InjectBarrier(id, timestamp, _options.Mode, trigger));
        }

        // One metadata write at a time, oldest first: completing a newer checkpoint subsumes older
        // ones, so finalizing in ID order never completes a checkpoint older than the latest.
        private void StartNextFinalization(List<CheckpointCommand> commands)
        {
            InFlightCheckpoint? next = null;
            foreach (InFlightCheckpoint checkpoint in _inFlight.Values)
            {
                if (checkpoint.Phase == CheckpointPhase.Finalizing)
                {
                    return;
                }

                if (next is null && checkpoint.Phase == CheckpointPhase.AwaitingFinalization)
                {
                    next = checkpoint;
                }
            }

            if (next is not null)
            {
                next.Phase = CheckpointPhase.Finalizing;
                commands.Add(new FinalizeCheckpoint(next.Id, next.Acknowledgements()));
            }
        }

        private void Abort(InFlightCheckpoint checkpoint, CheckpointAbortReason reason, string detail, bool countsAsFailure, List<CheckpointCommand> commands)
        {
            _inFlight.Remove(checkpoint.Id);
            _statistics.OnAborted(checkpoint.Id, Now() - checkpoint.TriggeredAt, reason, detail);
            commands.Add(new NotifyCheckpointAborted(checkpoint.Id, reason, detail));
            // A failure while suspended (a metadata write of the failed attempt) says nothing about
            // the restarted job; and no failure can be older than the last completion, because a
            // completion subsumes every older checkpoint still in flight.
            if (!countsAsFailure || State != CoordinatorState.Running)
            {
                return;
            }

            _consecutiveFailures++;
            if (_consecutiveFailures > _options.TolerableConsecutiveFailures)
            {
                string failure =
                    $"{_consecutiveFailures} checkpoint(s) failed in a row, more than the {_options.TolerableConsecutiveFailures} tolerated; " +
                    $"the last, {checkpoint.Id}, {reason}: {detail}";
                _consecutiveFailures = 0;
                commands.Add(new FailJob(failure));
                Suspend("The job is failed because too many checkpoints failed.", commands);
            }
        }

        private void Suspend(string detail, List<CheckpointCommand> commands)
        {
            State = CoordinatorState.Suspended;
            foreach (InFlightCheckpoint checkpoint in InFlightSnapshot())
            {
                if (checkpoint.Phase != CheckpointPhase.Finalizing)
                {
                    Abort(checkpoint, CheckpointAbortReason.JobFailed, detail, countsAsFailure: false, commands);
                }
            }
        }

        private InFlightCheckpoint Finalizing(long checkpointId, string input)
        {
            if (_inFlight.TryGetValue(checkpointId, out InFlightCheckpoint? checkpoint) && checkpoint.Phase == CheckpointPhase.Finalizing)
            {
                return checkpoint;
            }

            string phase = checkpoint is null ? "not in flight" : checkpoint.Phase.ToString();
            throw new InvalidOperationException($"{input}({checkpointId}): the checkpoint is {phase}, but only the checkpoint of a FinalizeCheckpoint command can be completed or failed.");
        }

        private void CheckKnown(long checkpointId, SubtaskId subtask)
        {
            if (!_subtasks.Contains(subtask))
            {
                throw new ArgumentException($"Subtask ({subtask}) is not one of the job's subtasks.", nameof(subtask));
            }

            if (checkpointId <= 0 || checkpointId >= _nextCheckpointId)
            {
                throw new ArgumentException($"Checkpoint {checkpointId} was never triggered (the next ID is {_nextCheckpointId}).", nameof(checkpointId));
            }
        }

        // A copy, because aborting removes entries while the caller iterates.
        private InFlightCheckpoint[] InFlightSnapshot()
        {
            var copy = new InFlightCheckpoint[_inFlight.Count];
            _inFlight.Values.CopyTo(copy, 0);
            return copy;
        }

        private TimeSpan Now() => _clock.GetElapsedTime(_origin);

        private static IReadOnlyList<CheckpointCommand> Result(List<CheckpointCommand> commands)
            => commands.Count == 0 ? NoCommands : commands;
    }
}
