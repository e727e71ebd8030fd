using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Weir.Checkpointing.Coordinator;
using Weir.Checkpointing.Storage;

namespace Weir.Checkpointing.Subtasks
{
    /// <summary>
    /// Runs a job's checkpoints: one thread feeds the <see cref="CheckpointCoordinator"/> (time,
    /// acknowledgements, declines) and carries out its commands against the
    /// <see cref="CheckpointCatalog"/> (begin, complete, abort) and the subtasks' mailboxes (trigger,
    /// notify). Every coordinator call is made on that thread, so commands are carried out in the
    /// order they were decided. It lives for the whole job, across restarts (checkpoint IDs only grow).
    /// </summary>
    internal sealed class CheckpointDriver : IDisposable
    {
        /// <summary>The name of the statistics file in the job's checkpoint directory.</summary>
        public const string StatisticsFileName = "checkpoint-stats.json";

        private static readonly TimeSpan s_longestSleep = TimeSpan.FromMilliseconds(500);

        private readonly CheckpointCatalog _catalog;
        private readonly CheckpointCoordinator _coordinator;
        private readonly int _maxParallelism;
        private readonly ConcurrentDictionary<long, PendingCheckpoint> _pending = new();
        private readonly ConcurrentQueue<Func<IReadOnlyList<CheckpointCommand>>> _inputs = new();
        private readonly AutoResetEvent _wake = new(false);
        private readonly List<Task> _outstanding = new();
        private readonly Thread _thread;
        private volatile bool _disposed;
        private volatile bool _attemptRunning;
        private IReadOnlyList<SubtaskCheckpointer> _checkpointers = [];
        private Action<Exception>? _failAttempt;
        private int _threadCount;
        private int _finishedThreads;
        private bool _allFinished;
        private long _finalFromId = long.MaxValue;

        // One entry per manual trigger asked of the coordinator, in order: the savepoint it is for, or
        // null for a plain checkpoint. The coordinator turns manual triggers into barriers one to one
        // and in order, so the next manual barrier belongs to the head of this queue.
        private readonly Queue<SavepointRequest?> _manualTriggers = new();
        private readonly ConcurrentDictionary<long, SavepointRequest> _savepoints = new();
        private readonly ConcurrentDictionary<long, int> _savepointNotifications = new();

        // Per completed savepoint: the attempt that completed it and how many subtasks it told.
        private readonly ConcurrentDictionary<long, (int Attempt, int Subtasks)> _savepointParticipants = new();

        // Counts ended attempts (changed on the coordinator thread only), so that a waiter can tell
        // "every subtask of the attempt committed" from "that attempt is gone".
        private int _endedAttempts;
        private readonly ConcurrentQueue<SavepointRequest> _completedSavepoints = new();
        private readonly ConcurrentDictionary<long, bool> _intermediateSavepoints = new();
        private SavepointRequest? _finalSavepoint;

        public CheckpointDriver(CheckpointCatalog catalog, CheckpointOptions options, IEnumerable<SubtaskId> subtasks, int maxParallelism, ILogger logger, ICheckpointFaults? faults)
        {
            _catalog = catalog;
            _coordinator = new CheckpointCoordinator(options, subtasks);
            _maxParallelism = maxParallelism;
            Logger = logger;
            Faults = faults;
            _thread = new Thread(Loop) { Name = "weir: checkpoint coordinator", IsBackground = true };
            _thread.Start();
        }

        public ILogger Logger { get; }

        /// <summary>Aligned (exactly-once) or not (at-least-once).</summary>
        public CheckpointingMode Mode => _coordinator.Options.Mode;

        public ICheckpointFaults? Faults { get; }

        public CheckpointCatalog Catalog => _catalog;

        /// <summary>The coordinator's statistics now.</summary>
        public CheckpointStatistics Statistics() => _coordinator.Statistics();

        /// <summary>
        /// A run attempt starts: its subtasks (restored from <paramref name="restoredId"/>, if any)
        /// take part from now on. <paramref name="failAttempt"/> fails the attempt when too many
        /// checkpoints failed in a row.
        /// </summary>
        public void StartAttempt(IReadOnlyList<SubtaskCheckpointer> checkpointers, int threadCount, long? restoredId, Action<Exception> failAttempt)
        {
            // Counted from here, not on the coordinator thread: a thread whose input is empty may
            // finish before the posted start runs, and its count must not be reset afterwards.
            Volatile.Write(ref _threadCount, threadCount);
            Interlocked.Exchange(ref _finishedThreads, 0);
            Post(() =>
            {
                _checkpointers = checkpointers;
                _allFinished = false;
                Volatile.Write(ref _finalFromId, long.MaxValue);
                _failAttempt = failAttempt;
                _attemptRunning = true;

                // IDs continue above every ID the directory has seen, even those of checkpoints that
                // never completed, so a new checkpoint never reuses a leftover's directory.
                long floor = Math.Max(restoredId ?? 0, _catalog.NextCheckpointId - 1);
                long? resumeAbove = floor > 0 ? floor : null;
                return _coordinator.State == CoordinatorState.Created
                    ? _coordinator.Start(resumeAbove)
                    : _coordinator.JobRestarted(resumeAbove);
            });
        }

        /// <summary>
        /// The attempt's threads have all ended (finished, failed or aborted): pending checkpoints are
        /// aborted and their asynchronous writes awaited, so the next attempt starts clean.
        /// </summary>
        public void EndAttempt(string reason)
        {
            using var processed = new ManualResetEventSlim(false);
            Post(() =>
            {
                _attemptRunning = false;
                Interlocked.Increment(ref _endedAttempts);
                _checkpointers = [];
                IReadOnlyList<CheckpointCommand> commands = _coordinator.State == CoordinatorState.Running
                    ? _coordinator.JobFailed(reason)
                    : [];
                processed.Set();
                return commands;
            });
            processed.Wait(TimeSpan.FromSeconds(30));
            Task[] outstanding;
            lock (_outstanding)
            {
                outstanding = _outstanding.ToArray();
                _outstanding.Clear();
            }

            // A snapshot thread still writing must not race the next attempt's restore; its late
            // acknowledgement is discarded by the coordinator.
            Task.WaitAll(outstanding.Select(t => t.ContinueWith(static _ => { }, TaskScheduler.Default)).ToArray(), TimeSpan.FromSeconds(30));
            foreach (PendingCheckpoint pending in _pending.Values)
            {
                _catalog.Abort(pending);
            }

            _pending.Clear();
            FailSavepoints($"the job attempt ended ({reason})");
        }

        private void FailSavepoints(string reason)
        {
            foreach (SavepointRequest request in _savepoints.Values)
            {
                request.Completion.TrySetException(new InvalidOperationException($"Savepoint into '{request.Directory ?? request.Parent}' failed: {reason}."));
            }

            _savepoints.Clear();

            // Completed, but the attempt ended before its subtasks were told (the notification
            // failed): left queued, the next attempt's first checkpoint would report it as taken.
            while (_completedSavepoints.TryDequeue(out SavepointRequest? untold))
            {
                untold.Completion.TrySetException(new InvalidOperationException(
                    $"Savepoint {untold.CheckpointId} into '{untold.Directory}' completed, but the job failed before its sinks were told to commit it ({reason})."));
            }

            Post(() =>
            {
                while (_manualTriggers.Count > 0)
                {
                    _manualTriggers.Dequeue()?.Completion.TrySetException(new InvalidOperationException($"Savepoint was not taken: {reason}."));
                }

                _finalSavepoint?.Completion.TrySetException(new InvalidOperationException($"Savepoint was not taken: {reason}."));
                _finalSavepoint = null;
                return [];
            });
        }

        /// <summary>A processing thread's input ended; when every thread's has, the final checkpoint is triggered.</summary>
        public void OnThreadFinished()
        {
            if (Interlocked.Increment(ref _finishedThreads) == Volatile.Read(ref _threadCount))
            {
                Post(() =>
                {
                    _allFinished = true;
                    if (_finalSavepoint is { } drained)
                    {
                        // Stop with --drain: the final checkpoint is the savepoint.
                        _finalSavepoint = null;
                        Logger.LogInformation("All input of job '{Job}' is drained: taking the final savepoint, whose completion commits the output.", _catalog.JobName);
                        return TriggerManual(drained);
                    }

                    Logger.LogInformation("All input of job '{Job}' is processed: taking the final checkpoint, whose completion commits the output.", _catalog.JobName);
                    return TriggerManual(null);
                });
            }
        }

        /// <summary>Whether a completed checkpoint was triggered after every subtask finished (it commits the last output and ends the job).</summary>
        public bool IsFinalCheckpoint(long checkpointId) => checkpointId >= Volatile.Read(ref _finalFromId);

        /// <summary>
        /// Whether <paramref name="checkpointId"/> is a completed savepoint taken while the job goes on
        /// (not by a stop): its completion commits no side effects (Flink since 1.15).
        /// </summary>
        public bool IsIntermediateSavepoint(long checkpointId) => _intermediateSavepoints.ContainsKey(checkpointId);

        public PendingCheckpoint? Pending(long checkpointId) => _pending.GetValueOrDefault(checkpointId);

        public void Acknowledge(long checkpointId, SubtaskId subtask, SubtaskSnapshotReport report)
            => Post(() => _coordinator.Acknowledge(checkpointId, subtask, report));

        public void Decline(long checkpointId, SubtaskId subtask, CheckpointDeclineReason reason, string message)
            => Post(() => _coordinator.Decline(checkpointId, subtask, reason, message));

        /// <summary>Asks for a checkpoint now (a user's request).</summary>
        public void TriggerManually() => Post(() => TriggerManual(null));

        /// <summary>
        /// Asks for a savepoint in a new directory <c>savepoint-&lt;id&gt;-&lt;time&gt;</c> under
        /// <paramref name="parentDirectory"/>; the task completes once its metadata is durable and every
        /// subtask has been told to commit, or fails with the reason it was not taken.
        /// </summary>
        /// <param name="parentDirectory">Where the savepoint's directory is created.</param>
        /// <param name="stopsJob">
        /// True for a stop with a savepoint: its completion commits what it covers (the job ends after
        /// it). False for a savepoint taken while the job goes on: it commits nothing, as in Flink.
        /// </param>
        public Task<SavepointResult> TriggerSavepoint(string parentDirectory, bool stopsJob = false)
        {
            var request = new SavepointRequest(parentDirectory) { StopsJob = stopsJob };
            Post(() => _attemptRunning && !_allFinished
                ? TriggerManual(request)
                : Refuse(request, "the job is not running (it is restarting, finishing or has ended)"));
            return request.Completion.Task;
        }

        /// <summary>
        /// Stop with --drain: once every subtask has drained its input, the final checkpoint is a
        /// savepoint under <paramref name="parentDirectory"/>. The caller ends the sources' input.
        /// </summary>
        public Task<SavepointResult> SavepointWhenDrained(string parentDirectory)
        {
            var request = new SavepointRequest(parentDirectory) { StopsJob = true };
            Post(() =>
            {
                if (_allFinished)
                {
                    return Refuse(request, "all input was already processed and the final checkpoint taken");
                }

                _finalSavepoint = request;
                return [];
            });
            return request.Completion.Task;
        }

        /// <summary>
        /// Waits until every subtask of the attempt that completed savepoint <paramref name="checkpointId"/>
        /// has handled its completion (sinks committed it), that attempt ends first, or the timeout passes.
        /// </summary>
        public SavepointCommitWait WaitForSavepointNotified(long checkpointId, TimeSpan timeout)
        {
            if (!_savepointParticipants.TryGetValue(checkpointId, out (int Attempt, int Subtasks) participants))
            {
                throw new InvalidOperationException($"Checkpoint {checkpointId} is not a savepoint this job completed.");
            }

            long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
            while (_savepointNotifications.GetValueOrDefault(checkpointId) < participants.Subtasks)
            {
                // Once the attempt is gone its subtasks will never commit; a restart restores an older
                // checkpoint and deletes the transactions only this savepoint refers to.
                if (Volatile.Read(ref _endedAttempts) != participants.Attempt)
                {
                    return SavepointCommitWait.AttemptEnded;
                }

                if (Environment.TickCount64 > deadline)
                {
                    return SavepointCommitWait.TimedOut;
                }

                Thread.Sleep(5);
            }

            return SavepointCommitWait.Committed;
        }

        /// <summary>A subtask handled the completion of <paramref name="checkpointId"/> (counted for savepoints only).</summary>
        public void OnNotified(long checkpointId)
        {
            if (_savepoints.ContainsKey(checkpointId) || _savepointNotifications.ContainsKey(checkpointId))
            {
                _savepointNotifications.AddOrUpdate(checkpointId, 1, static (_, n) => n + 1);
            }
        }

        private IReadOnlyList<CheckpointCommand> TriggerManual(SavepointRequest? savepoint)
        {
            _manualTriggers.Enqueue(savepoint);
            return _coordinator.TriggerManually();
        }

        private static IReadOnlyList<CheckpointCommand> Refuse(SavepointRequest request, string reason)
        {
            request.Completion.TrySetException(new InvalidOperationException($"No savepoint was taken: {reason}."));
            return [];
        }

        public void Track(Task asyncPhase)
        {
            lock (_outstanding)
            {
                _outstanding.RemoveAll(t => t.IsCompleted);
                _outstanding.Add(asyncPhase);
            }
        }

        /// <summary>Ends the job's use of the checkpoint directory (see <see cref="CheckpointCatalog.Close"/>).</summary>
        public void Close(JobTermination termination)
        {
            Dispose();
            _catalog.Close(termination);
        }

        public void Dispose()
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _wake.Set();
            _thread.Join();
            foreach (SavepointRequest request in _savepoints.Values)
            {
                request.Completion.TrySetException(new InvalidOperationException($"Savepoint into '{request.Directory ?? request.Parent}' failed: the job ended first."));
            }

            foreach (SavepointRequest? request in _manualTriggers)
            {
                request?.Completion.TrySetException(new InvalidOperationException("Savepoint was not taken: the job ended first."));
            }

            _finalSavepoint?.Completion.TrySetException(new InvalidOperationException("Savepoint was not taken: the job ended first."));
        }

        private void Post(Func<IReadOnlyList<CheckpointCommand>> input)
        {
            _inputs.Enqueue(input);
            _wake.Set();
        }

        private void Loop()
        {
            while (!_disposed)
            {
                try
                {
                    while (_inputs.TryDequeue(out Func<IReadOnlyList<CheckpointCommand>>? input))
                    {
                        Execute(input());
                    }

                    if (_attemptRunning)
                    {
                        Execute(_coordinator.Tick());
                    }
                }
                catch (Exception ex)
                {
                    // A bug or an unusable directory: fail the attempt rather than leave the job without checkpoints.
                    Logger.LogError(ex, "The checkpoint coordinator failed: {Message}", ex.Message);
                    _failAttempt?.Invoke(ex);
                }

                TimeSpan delay = (_attemptRunning ? _coordinator.DelayUntilNextTick() : null) ?? s_longestSleep;
                _wake.WaitOne(delay < s_longestSleep ? delay : s_longestSleep);
            }
        }

        private void Execute(IReadOnlyList<CheckpointCommand> commands)
        {
            foreach (CheckpointCommand command in commands)
            {
                switch (command)
                {
                    case InjectBarrier inject:
                        Inject(inject);
                        break;
                    case FinalizeCheckpoint finalize:
                        Execute(Finalize(finalize.CheckpointId));
                        break;
                    case NotifyCheckpointComplete complete:
                        Faults?.BeforeNotifyComplete(complete.CheckpointId);
                        PostToAll(MailKind.Complete, complete.CheckpointId);
                        while (_completedSavepoints.TryDequeue(out SavepointRequest? savepoint))
                        {
                            savepoint.Completion.TrySetResult(new SavepointResult(savepoint.CheckpointId, savepoint.Directory!));
                        }

                        if (IsFinalCheckpoint(complete.CheckpointId))
                        {
                            // The job ends with this one: no periodic checkpoint of a finished job.
                            _attemptRunning = false;
                        }

                        break;
                    case NotifyCheckpointAborted aborted:
                        OnAborted(aborted);
                        break;
                    case DiscardLateSnapshot:
                        break; // its pending checkpoint was already aborted, which deleted what it wrote
                    case FailJob fail:
                        _failAttempt?.Invoke(new CheckpointFailureException(fail.Reason));
                        break;
                }
            }
        }

        private void Inject(InjectBarrier inject)
        {
            if (_allFinished && Volatile.Read(ref _finalFromId) == long.MaxValue)
            {
                Volatile.Write(ref _finalFromId, inject.CheckpointId);
            }

            SavepointRequest? savepoint = inject.Trigger == CheckpointTrigger.Manual && _manualTriggers.Count > 0 ? _manualTriggers.Dequeue() : null;
            if (savepoint is not null)
            {
                try
                {
                    savepoint.Directory = System.IO.Path.Combine(
                        savepoint.Parent,
                        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"savepoint-{inject.CheckpointId}-{inject.Timestamp.UtcDateTime:yyyyMMdd'T'HHmmssfff'Z'}"));
                    savepoint.CheckpointId = inject.CheckpointId;
                    _pending[inject.CheckpointId] = _catalog.BeginSavepoint(inject.CheckpointId, inject.Timestamp, savepoint.Directory);
                }
                catch (Exception ex) when (ex is CheckpointStorageException or System.IO.IOException or UnauthorizedAccessException)
                {
                    // No subtask snapshots into a target it cannot use: the coordinator sees a decline.
                    savepoint.Completion.TrySetException(ex);
                    _pending[inject.CheckpointId] = _catalog.BeginCheckpoint(inject.CheckpointId, inject.Timestamp);
                    PostToAll(MailKind.Trigger, inject.CheckpointId);
                    return;
                }

                _savepoints[inject.CheckpointId] = savepoint;
                _savepointNotifications[inject.CheckpointId] = 0;
                Logger.LogInformation("Savepoint {CheckpointId} of job '{Job}' triggered into '{Directory}'", inject.CheckpointId, _catalog.JobName, savepoint.Directory);
            }
            else
            {
                _pending[inject.CheckpointId] = _catalog.BeginCheckpoint(inject.CheckpointId, inject.Timestamp);
            }

            PostToAll(MailKind.Trigger, inject.CheckpointId);
        }

        private IReadOnlyList<CheckpointCommand> Finalize(long checkpointId)
        {
            if (!_pending.TryRemove(checkpointId, out PendingCheckpoint? pending))
            {
                return _coordinator.MarkFinalizeFailed(checkpointId, "its state files were already discarded");
            }

            try
            {
                Faults?.BeforeMetadata(checkpointId);
                _catalog.Complete(pending, _maxParallelism);
            }
            catch (Exception ex)
            {
                _catalog.Abort(pending);
                Logger.LogWarning(ex, "Checkpoint {CheckpointId} of job '{Job}' could not be completed: {Message}", checkpointId, _catalog.JobName, ex.Message);
                if (_savepoints.TryRemove(checkpointId, out SavepointRequest? failed))
                {
                    failed.Completion.TrySetException(new InvalidOperationException($"Savepoint {checkpointId} into '{failed.Directory}' could not be completed: {ex.Message}", ex));
                }

                return _coordinator.MarkFinalizeFailed(checkpointId, ex.Message);
            }

            if (_savepoints.TryRemove(checkpointId, out SavepointRequest? completed))
            {
                Logger.LogInformation("Savepoint {CheckpointId} of job '{Job}' completed: {Directory}", checkpointId, _catalog.JobName, pending.SavepointDirectory);
                IReadOnlyList<CheckpointCommand> notify = _coordinator.MarkCompleted(checkpointId);
                WriteStatistics(_coordinator.Statistics());
                _savepointParticipants[checkpointId] = (Volatile.Read(ref _endedAttempts), _checkpointers.Count);
                if (!completed.StopsJob)
                {
                    _intermediateSavepoints[checkpointId] = true;
                }

                // Completed only once subtasks are told (the mail is posted when the commands run):
                // a stop waits for the sinks' commits after that.
                _completedSavepoints.Enqueue(completed);
                return notify;
            }

            IReadOnlyList<CheckpointCommand> commands = _coordinator.MarkCompleted(checkpointId);
            CheckpointStatistics statistics = _coordinator.Statistics();
            if (statistics.LatestCompleted is { } summary && summary.Id == checkpointId)
            {
                Logger.LogInformation(
                    "Checkpoint {CheckpointId} completed in {Duration} ms: {Written} bytes written, full state {Full} bytes, sync pause at most {Sync:F2} ms, alignment at most {Alignment:F2} ms, async write at most {Async} ms",
                    checkpointId,
                    (long)(summary.EndToEndDuration ?? TimeSpan.Zero).TotalMilliseconds,
                    summary.BytesWritten,
                    summary.FullStateSize,
                    summary.MaxSyncDuration.TotalMilliseconds,
                    summary.MaxAlignmentDuration.TotalMilliseconds,
                    (long)summary.MaxAsyncDuration.TotalMilliseconds);
            }

            WriteStatistics(statistics);
            return commands;
        }

        private void OnAborted(NotifyCheckpointAborted aborted)
        {
            if (_savepoints.TryRemove(aborted.CheckpointId, out SavepointRequest? savepoint))
            {
                savepoint.Completion.TrySetException(new InvalidOperationException($"Savepoint {aborted.CheckpointId} into '{savepoint.Directory}' was aborted ({aborted.Reason}): {aborted.Detail}"));
            }

            if (_pending.TryRemove(aborted.CheckpointId, out PendingCheckpoint? pending))
            {
                _catalog.Abort(pending);
            }

            if (aborted.Reason is CheckpointAbortReason.Subsumed or CheckpointAbortReason.JobFailed)
            {
                Logger.LogInformation("Checkpoint {CheckpointId} aborted ({Reason}): {Detail}", aborted.CheckpointId, aborted.Reason, aborted.Detail);
            }
            else
            {
                Logger.LogWarning("Checkpoint {CheckpointId} aborted ({Reason}): {Detail}", aborted.CheckpointId, aborted.Reason, aborted.Detail);
            }

            PostToAll(MailKind.Aborted, aborted.CheckpointId);
            WriteStatistics(_coordinator.Statistics());
            if (_allFinished && _attemptRunning && _coordinator.State == CoordinatorState.Running && _coordinator.InFlightCount == 0)
            {
                // The job can only end with a completed final checkpoint: ask for another.
                Volatile.Write(ref _finalFromId, long.MaxValue);
                Execute(TriggerManual(null));
            }
        }

        private void PostToAll(MailKind kind, long checkpointId)
        {
            foreach (SubtaskCheckpointer checkpointer in _checkpointers)
            {
                checkpointer.Mailbox.Post(new Mail(kind, checkpointId, checkpointer));
            }
        }

        private void WriteStatistics(CheckpointStatistics statistics)
        {
            try
            {
                _catalog.Storage.PublishAtomically(_catalog.StoragePath(StatisticsFileName), Encoding.UTF8.GetBytes(statistics.ToJson()));
            }
            catch (Exception ex)
            {
                // Statistics are a report, not state: a failed write must not fail checkpoints.
                Logger.LogWarning(ex, "Checkpoint statistics could not be written: {Message}", ex.Message);
            }
        }
    }

    /// <summary>A user's request for a savepoint, completed with its directory.</summary>
    internal sealed class SavepointRequest(string parentDirectory)
    {
        /// <summary>Where the savepoint's own directory is created.</summary>
        public string Parent { get; } = System.IO.Path.GetFullPath(parentDirectory);

        /// <summary>The savepoint's directory, once its ID is known.</summary>
        public string? Directory { get; set; }

        public long CheckpointId { get; set; }

        /// <summary>Taken by a stop: its completion commits (an intermediate savepoint's does not).</summary>
        public bool StopsJob { get; init; }

        public TaskCompletionSource<SavepointResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>How waiting for the sinks to commit a completed savepoint ended.</summary>
    internal enum SavepointCommitWait
    {
        /// <summary>Every subtask of the attempt that took it handled its completion.</summary>
        Committed,

        /// <summary>Some subtask had not handled it by the timeout; the attempt still runs.</summary>
        TimedOut,

        /// <summary>The attempt that took it ended (failed) before every subtask handled it.</summary>
        AttemptEnded,
    }

    /// <summary>A completed savepoint.</summary>
    /// <param name="CheckpointId">Its ID (shared with checkpoints).</param>
    /// <param name="Directory">Its directory: what <c>--from-savepoint</c> takes.</param>
    public sealed record SavepointResult(long CheckpointId, string Directory);

    /// <summary>Too many checkpoints failed in a row (more than the tolerated number): the job fails.</summary>
    public sealed class CheckpointFailureException : Exception
    {
        /// <summary>Creates the exception.</summary>
        public CheckpointFailureException(string message)
            : base(message)
        {
        }
    }

    /// <summary>
    /// Failure injection for fault-tolerance tests: each hook may throw to simulate a failure at that
    /// point of a checkpoint. Production runs pass none.
    /// </summary>
    public interface ICheckpointFaults
    {
        /// <summary>On the subtask's thread, before its state is captured.</summary>
        void DuringSyncPhase(SubtaskId subtask, long checkpointId);

        /// <summary>On the subtask's thread, after its state is captured and its barrier sent.</summary>
        void AfterSyncPhase(SubtaskId subtask, long checkpointId);

        /// <summary>On the snapshot thread, before the subtask's state files are written.</summary>
        void DuringAsyncPhase(SubtaskId subtask, long checkpointId);

        /// <summary>On the coordinator's thread, before the checkpoint's metadata is written.</summary>
        void BeforeMetadata(long checkpointId);

        /// <summary>
        /// On the coordinator's thread, after the checkpoint's metadata is durable and before any
        /// subtask is told (between a sink's pre-commit and its commit).
        /// </summary>
        void BeforeNotifyComplete(long checkpointId);
    }
}
