using System;
using System.Collections.Concurrent;
using System.Threading;

namespace Weir.Checkpointing.Subtasks
{
    /// <summary>What the checkpoint driver asks of a subtask, carried out on the subtask's own thread.</summary>
    internal enum MailKind
    {
        /// <summary>A checkpoint was triggered: a source injects its barrier; a finished subtask snapshots its final state.</summary>
        Trigger,

        /// <summary>A checkpoint completed: commit.</summary>
        Complete,

        /// <summary>A checkpoint was aborted.</summary>
        Aborted,
    }

    internal readonly record struct Mail(MailKind Kind, long CheckpointId, SubtaskCheckpointer Target);

    /// <summary>
    /// The mail of one processing thread (Flink's task mailbox): checkpoint triggers and notifications
    /// are posted from the driver's thread and handled by the subtask between batches, so operator
    /// state is only ever touched by its own thread. A chain running on its producer's thread shares
    /// the producer's mailbox.
    /// </summary>
    internal sealed class SubtaskMailbox
    {
        private readonly ConcurrentQueue<Mail> _queue = new();
        private readonly ManualResetEventSlim _posted = new(false);
        private readonly System.Collections.Generic.List<SubtaskCheckpointer> _members = new();
        private int _count;

        /// <summary>The subtasks whose mail this is (a subtask and the chains running on its thread).</summary>
        public System.Collections.Generic.IReadOnlyList<SubtaskCheckpointer> Members => _members;

        public void Join(SubtaskCheckpointer member) => _members.Add(member);

        /// <summary>Wakes the thread when it blocks on something other than this mailbox (an input gate).</summary>
        public Action? Wake { get; set; }

        /// <summary>Whether mail is waiting: one volatile read, checked once per batch.</summary>
        public bool HasMail => Volatile.Read(ref _count) != 0;

        /// <summary>Posts mail from any thread.</summary>
        public void Post(Mail mail)
        {
            _queue.Enqueue(mail);
            Interlocked.Increment(ref _count);
            _posted.Set();
            Wake?.Invoke();
        }

        /// <summary>Handles every waiting mail, on the owning thread.</summary>
        public void Drain()
        {
            while (_queue.TryDequeue(out Mail mail))
            {
                Interlocked.Decrement(ref _count);
                mail.Target.Handle(mail);
            }
        }

        /// <summary>
        /// The thread's input has ended and its chains have signalled end of input: its subtasks
        /// snapshot their final state from now on, and the thread serves its mail until the job's
        /// final checkpoint has completed here (so sinks have committed). False when aborted.
        /// </summary>
        public bool FinishAndServe(CheckpointDriver driver, CancellationToken abort)
        {
            foreach (SubtaskCheckpointer member in _members)
            {
                member.MarkFinished();
            }

            driver.OnThreadFinished();
            return RunUntil(AllCommittedFinal, abort);
        }

        private bool AllCommittedFinal()
        {
            foreach (SubtaskCheckpointer member in _members)
            {
                if (!member.FinalCheckpointCompleted)
                {
                    return false;
                }
            }

            return true;
        }

        /// <summary>
        /// Once the thread's input has ended: handles mail until <paramref name="done"/> says the job
        /// no longer needs this thread (its final checkpoint completed) or <paramref name="abort"/> is
        /// signalled. Returns false when aborted.
        /// </summary>
        public bool RunUntil(Func<bool> done, CancellationToken abort)
        {
            while (!done())
            {
                _posted.Reset();
                if (HasMail)
                {
                    Drain();
                    continue;
                }

                try
                {
                    _posted.Wait(TimeSpan.FromMilliseconds(200), abort);
                }
                catch (OperationCanceledException)
                {
                    return false;
                }
            }

            return true;
        }
    }
}
