using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Weir.Checkpointing.Coordinator;
using Weir.Checkpointing.Snapshots;
using Weir.Checkpointing.Storage;
using Weir.Execution;

namespace Weir.Checkpointing.Subtasks
{
    /// <summary>
    /// The checkpoint side of one subtask: the state its operators registered, the writers its
    /// barriers leave through, and the two phases of its snapshots. Everything but the asynchronous
    /// write runs on the subtask's thread.
    /// <para>
    /// A subtask snapshots checkpoint <c>n</c> once: a source when the trigger reaches it, any other
    /// subtask when its barriers are aligned. A subtask whose input has ended (finished) takes no more
    /// barriers; it snapshots its final state for every checkpoint triggered after it finished, as
    /// Flink does for finished tasks, so checkpoints go on while other sources still read.
    /// </para>
    /// </summary>
    internal sealed class SubtaskCheckpointer
    {
        private readonly CheckpointDriver _driver;
        private readonly List<ICheckpointedState> _states = new();
        private readonly List<IBarrierEmitter> _emitters = new();
        private readonly bool _isSource;
        private long _lastHandledId;
        private long _highestTriggeredId;
        private bool _finished;
        private Task _asyncPhase = Task.CompletedTask;

        public SubtaskCheckpointer(CheckpointDriver driver, SubtaskId id, SubtaskMailbox mailbox, bool isSource, int parallelism, KeyGroupRange keyGroups, bool isKeyed)
        {
            _driver = driver;
            Id = id;
            Mailbox = mailbox;
            _isSource = isSource;
            Parallelism = parallelism;
            KeyGroups = keyGroups;
            IsKeyed = isKeyed;
            mailbox.Join(this);
        }

        /// <summary>The job's checkpoint driver.</summary>
        public CheckpointDriver Driver => _driver;

        public SubtaskId Id { get; }

        public SubtaskMailbox Mailbox { get; }

        public int Parallelism { get; }

        public KeyGroupRange KeyGroups { get; }

        public bool IsKeyed { get; }

        /// <summary>Whether the final checkpoint (one triggered after every subtask finished) has completed here.</summary>
        public bool FinalCheckpointCompleted { get; private set; }

        /// <summary>Called when a checkpoint is aborted, so a subtask aligning its barriers stops waiting.</summary>
        public Action<long>? OnAbortedWhileAligning { get; set; }

        /// <summary>The checkpoint the subtask was restored from, if any.</summary>
        public long? RestoredCheckpointId { get; private set; }

        public void Register(ICheckpointedState state)
        {
            if (_states.Exists(s => s.OperatorId == state.OperatorId && s.StateKind == state.StateKind))
            {
                throw new InvalidOperationException($"Operator '{state.OperatorId}' registered two pieces of state named '{state.StateKind}'.");
            }

            _states.Add(state);
        }

        public void AddEmitter(IBarrierEmitter emitter) => _emitters.Add(emitter);

        /// <summary>Restores every registered piece of state from the checkpoint, before the first record.</summary>
        public void Restore(RestoredCheckpoint? restored, int maxParallelism)
        {
            if (restored is null)
            {
                return;
            }

            RestoredCheckpointId = restored.CheckpointId;
            _lastHandledId = restored.CheckpointId;
            _highestTriggeredId = restored.CheckpointId;
            foreach (ICheckpointedState state in _states)
            {
                if (restored.Operator(state.OperatorId) is not { } metadata)
                {
                    continue; // an operator the checkpoint does not know starts empty
                }

                try
                {
                    state.Restore(new RestoredOperatorState(
                        restored.CheckpointId,
                        state.OperatorId,
                        Id.Subtask,
                        Parallelism,
                        KeyGroups,
                        maxParallelism,
                        metadata.Subtasks,
                        metadata.Parallelism,
                        restored.Open)
                    {
                        AllowNonRestoredState = restored.AllowNonRestoredState,
                    });
                }
                catch (Exception ex) when (ex is not CheckpointRestoreException)
                {
                    throw new CheckpointRestoreException(
                        $"Restoring the '{state.StateKind}' state of operator '{state.OperatorId}' (subtask {Id.Subtask + 1}/{Parallelism}) from checkpoint {restored.CheckpointId} failed: {ex.Message}",
                        ex);
                }
            }
        }

        /// <summary>Handles one mail on the subtask's thread.</summary>
        public void Handle(Mail mail)
        {
            switch (mail.Kind)
            {
                case MailKind.Trigger:
                    _highestTriggeredId = Math.Max(_highestTriggeredId, mail.CheckpointId);
                    if (_finished)
                    {
                        SnapshotTriggeredWhileFinished();
                    }
                    else if (_isSource)
                    {
                        Perform(mail.CheckpointId, TimeSpan.Zero);
                    }

                    // Any other running subtask snapshots when the barriers reach it.
                    break;
                case MailKind.Complete:
                    bool commits = !_driver.IsIntermediateSavepoint(mail.CheckpointId);
                    foreach (ICheckpointedState state in _states)
                    {
                        if (commits)
                        {
                            state.NotifyCheckpointComplete(mail.CheckpointId);
                        }
                        else
                        {
                            state.NotifySavepointComplete(mail.CheckpointId);
                        }
                    }

                    _driver.OnNotified(mail.CheckpointId);

                    if (_driver.IsFinalCheckpoint(mail.CheckpointId))
                    {
                        FinalCheckpointCompleted = true;
                    }

                    break;
                case MailKind.Aborted:
                    OnAbortedWhileAligning?.Invoke(mail.CheckpointId);
                    foreach (ICheckpointedState state in _states)
                    {
                        state.NotifyCheckpointAborted(mail.CheckpointId);
                    }

                    break;
            }
        }

        /// <summary>
        /// The subtask's input ended and its chain signalled end of input (sinks pre-committed their
        /// last transaction): from now on it snapshots its final state for each triggered checkpoint.
        /// </summary>
        public void MarkFinished()
        {
            _finished = true;
            SnapshotTriggeredWhileFinished();
        }

        /// <summary>
        /// Takes checkpoint <paramref name="checkpointId"/>: the synchronous phase here (each piece of
        /// state captures itself), the barrier downstream, and the asynchronous phase on the thread pool.
        /// </summary>
        public void Perform(long checkpointId, TimeSpan alignment)
        {
            if (checkpointId <= _lastHandledId)
            {
                return;
            }

            _lastHandledId = checkpointId;
            long started = Stopwatch.GetTimestamp();
            var captured = new (ICheckpointedState State, IStateSnapshot Snapshot)[_states.Count];

            // The pending checkpoint is registered before any trigger or barrier of it exists.
            SnapshotKind kind = _driver.Pending(checkpointId) is { IsSavepoint: true } ? SnapshotKind.Savepoint : SnapshotKind.Checkpoint;
            try
            {
                _driver.Faults?.DuringSyncPhase(Id, checkpointId);
                for (int i = 0; i < _states.Count; i++)
                {
                    captured[i] = (_states[i], null!);
                    captured[i].Snapshot = _states[i].Snapshot(checkpointId, kind);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // As in Flink, a failure of the synchronous phase fails the subtask (its state may be
                // half-captured); the job then restarts from the latest completed checkpoint.
                string op = captured.FirstOrDefault(c => c.Snapshot is null).State?.OperatorId ?? "?";
                throw new CheckpointSnapshotException($"Subtask {Id} failed in the synchronous phase of checkpoint {checkpointId} (operator '{op}'): {ex.Message}", ex);
            }

            TimeSpan sync = Stopwatch.GetElapsedTime(started);
            if (!_finished)
            {
                foreach (IBarrierEmitter emitter in _emitters)
                {
                    emitter.EmitBarrier(checkpointId);
                }
            }

            _driver.Faults?.AfterSyncPhase(Id, checkpointId);

            // One asynchronous phase at a time per subtask, in checkpoint order.
            _asyncPhase = _asyncPhase.ContinueWith(
                _ => WriteAsyncPhase(checkpointId, captured, sync, alignment),
                TaskScheduler.Default);
            _driver.Track(_asyncPhase);
        }

        /// <summary>This subtask cannot take part in the checkpoint: tell the coordinator and the subtasks downstream.</summary>
        public void Decline(long checkpointId, CheckpointDeclineReason reason, string message)
        {
            _lastHandledId = Math.Max(_lastHandledId, checkpointId);
            if (!_finished)
            {
                foreach (IBarrierEmitter emitter in _emitters)
                {
                    emitter.EmitCancelBarrier(checkpointId);
                }
            }

            _driver.Decline(checkpointId, Id, reason, message);
        }

        /// <summary>Forwards a cancellation downstream without declining (a subtask that had not started the checkpoint).</summary>
        public void ForwardCancellation(long checkpointId)
        {
            if (!_finished)
            {
                foreach (IBarrierEmitter emitter in _emitters)
                {
                    emitter.EmitCancelBarrier(checkpointId);
                }
            }
        }

        private void SnapshotTriggeredWhileFinished()
        {
            if (_highestTriggeredId > _lastHandledId)
            {
                Perform(_highestTriggeredId, TimeSpan.Zero);
            }
        }

        private void WriteAsyncPhase(long checkpointId, (ICheckpointedState State, IStateSnapshot Snapshot)[] captured, TimeSpan sync, TimeSpan alignment)
        {
            long started = Stopwatch.GetTimestamp();
            try
            {
                PendingCheckpoint? pending = _driver.Pending(checkpointId);
                if (pending is null)
                {
                    return; // aborted meanwhile: nothing to write
                }

                _driver.Faults?.DuringAsyncPhase(Id, checkpointId);
                long written = 0;
                long full = 0;
                foreach (IGrouping<string, (ICheckpointedState State, IStateSnapshot Snapshot)> op in captured.GroupBy(c => c.State.OperatorId, StringComparer.Ordinal))
                {
                    var output = new SnapshotOutput(pending, op.Key, Id.Subtask, KeyGroups);
                    var files = new List<SubtaskStateFile>();
                    foreach ((ICheckpointedState _, IStateSnapshot snapshot) in op)
                    {
                        files.AddRange(snapshot.Write(output));
                    }

                    foreach (SubtaskStateFile file in files)
                    {
                        full += file.File.StoredLength;
                        if (!CheckpointLayout.IsShared(file.File.Path) || pending.CreatedSharedFile(file.File.Path))
                        {
                            written += file.File.StoredLength;
                        }
                    }

                    pending.Acknowledge(op.Key, Parallelism, Id.Subtask, IsKeyed ? KeyGroups : null, files);
                }

                var report = new SubtaskSnapshotReport(sync, Stopwatch.GetElapsedTime(started), alignment, written, full);
                _driver.Acknowledge(checkpointId, Id, report);
            }
            catch (Exception ex)
            {
                if (_driver.Pending(checkpointId) is not null)
                {
                    _driver.Logger.LogWarning(ex, "Subtask {Subtask} could not write checkpoint {CheckpointId}: {Message}", Id, checkpointId, ex.Message);
                }

                _driver.Decline(checkpointId, Id, CheckpointDeclineReason.SnapshotFailed, ex.Message);
            }
        }
    }

    /// <summary>The synchronous phase of a snapshot failed; the subtask fails with it.</summary>
    public sealed class CheckpointSnapshotException : Exception
    {
        /// <summary>Creates the exception.</summary>
        public CheckpointSnapshotException(string message, Exception? inner = null)
            : base(message, inner)
        {
        }
    }

    /// <summary>Restoring a subtask's state from a checkpoint failed; the message names the operator, state and checkpoint.</summary>
    public sealed class CheckpointRestoreException : Exception
    {
        /// <summary>Creates the exception.</summary>
        public CheckpointRestoreException(string message, Exception? inner = null)
            : base(message, inner)
        {
        }
    }
}
