using System;
using System.Collections.Generic;
using Weir.Checkpointing.Coordinator;

namespace Weir.Checkpointing.Alignment
{
    /// <summary>
    /// What a subtask's input loop must do after a barrier, an end of input or a cancellation
    /// reached the <see cref="BarrierAligner"/>. Actions of one call are returned in execution order.
    /// </summary>
    public abstract record AlignmentAction;

    /// <summary>Stop taking records from <paramref name="Channel"/>: it delivered the barrier being aligned (exactly-once only).</summary>
    public sealed record BlockChannel(int Channel) : AlignmentAction;

    /// <summary>
    /// Every input delivered barrier <paramref name="CheckpointId"/> (or ended): snapshot the
    /// subtask's state now, then forward the barrier to its outputs.
    /// </summary>
    /// <param name="CheckpointId">The checkpoint.</param>
    /// <param name="AlignmentDuration">From the first barrier to the last at this subtask (zero with one live input).</param>
    public sealed record TriggerSnapshot(long CheckpointId, TimeSpan AlignmentDuration) : AlignmentAction;

    /// <summary>Take records from every blocked channel again (after a snapshot or an abort).</summary>
    public sealed record UnblockAllChannels : AlignmentAction
    {
        /// <summary>The one instance: the action has no data.</summary>
        public static UnblockAllChannels Instance { get; } = new();

        private UnblockAllChannels()
        {
        }
    }

    /// <summary>
    /// This subtask gives up <paramref name="CheckpointId"/>: decline it to the coordinator with
    /// <paramref name="Reason"/> and forward a cancellation marker downstream, so subtasks there do
    /// not wait for barriers that will never come.
    /// </summary>
    public sealed record AbortCheckpoint(long CheckpointId, CheckpointDeclineReason Reason) : AlignmentAction;

    /// <summary>
    /// The in-band barrier logic of one subtask with several input channels (Flink's
    /// <c>SingleCheckpointBarrierHandler</c> for exactly-once and <c>CheckpointBarrierTracker</c> for
    /// at-least-once), as pure logic: the executor feeds it what arrives on its input gates and
    /// carries out the returned <see cref="AlignmentAction"/>s. Not thread-safe: it belongs to the
    /// subtask's thread.
    /// <para><b>Exactly-once</b> (aligned), one checkpoint at a time:</para>
    /// <code>
    ///   Idle ──barrier k on c──> Aligning(k)   BlockChannel(c)
    ///   Aligning(k) ──barrier k on the last open channel──> Idle   TriggerSnapshot(k), UnblockAllChannels
    ///   Aligning(k) ──end of input on the last open channel──> Idle   TriggerSnapshot(k), UnblockAllChannels
    ///   Aligning(k) ──barrier j &gt; k──> Aligning(j)   AbortCheckpoint(k, SubsumedByNewerBarrier), UnblockAllChannels, BlockChannel(c)
    ///   Aligning(k) ──cancellation of k──> Idle   AbortCheckpoint(k, CancelledUpstream), UnblockAllChannels
    ///   Aligning(k) ──cancellation of j &gt; k──> Idle   AbortCheckpoint(k, SubsumedByNewerBarrier), AbortCheckpoint(j, CancelledUpstream), UnblockAllChannels
    ///   Idle ──cancellation of j──> Idle   AbortCheckpoint(j, CancelledUpstream)   (forwarded, so downstream stops waiting)
    ///   any ──barrier or cancellation of an ID at or below the last handled one──> ignored
    /// </code>
    /// <para>
    /// <b>At-least-once</b> (not aligned): nothing is blocked; several checkpoints may be counted at
    /// once. When checkpoint <c>k</c> has a barrier (or an end of input) from every channel, it is
    /// snapshotted and every older checkpoint still counting is aborted (its barriers will never all
    /// arrive in time to matter: <c>k</c> covers them).
    /// </para>
    /// <para>
    /// A channel that ended counts as having delivered every later barrier. A single live channel
    /// snapshots on its barrier with no blocking. A barrier on a channel that already delivered the
    /// same checkpoint's barrier, or anything on a blocked channel, is a bug in the caller and throws.
    /// </para>
    /// </summary>
    public sealed class BarrierAligner
    {
        private static readonly AlignmentAction[] NoActions = [];

        private readonly CheckpointingMode _mode;
        private readonly TimeProvider _clock;
        private readonly bool[] _ended;

        // The highest checkpoint ID this subtask snapshotted or aborted: barriers and cancellations
        // at or below it are stale (a restart's leftovers, or overtaken checkpoints) and ignored.
        private long _lastHandledId;

        // Checkpoints whose barriers are arriving, oldest first: at most one in exactly-once mode.
        private readonly List<Alignment> _alignments = new();

        /// <summary>Creates an aligner for a subtask.</summary>
        /// <param name="channelCount">How many input channels the subtask has (senders over all its inputs).</param>
        /// <param name="mode">Aligned (exactly-once) or not (at-least-once).</param>
        /// <param name="clock">The time source for alignment durations; <see cref="TimeProvider.System"/> if null.</param>
        public BarrierAligner(int channelCount, CheckpointingMode mode, TimeProvider? clock = null)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channelCount);
            if (!Enum.IsDefined(mode))
            {
                throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown checkpointing mode.");
            }

            _mode = mode;
            _clock = clock ?? TimeProvider.System;
            _ended = new bool[channelCount];
        }

        /// <summary>How many input channels the subtask has.</summary>
        public int ChannelCount => _ended.Length;

        /// <summary>The checkpoint being aligned (exactly-once), or the oldest one being counted (at-least-once); null if none.</summary>
        public long? CurrentCheckpointId => _alignments.Count > 0 ? _alignments[0].Id : null;

        /// <summary>Whether <paramref name="channel"/> must not be read now.</summary>
        public bool IsBlocked(int channel)
        {
            CheckChannel(channel);
            return _mode == CheckpointingMode.ExactlyOnce && _alignments.Count > 0 && _alignments[0].Delivered[channel];
        }

        /// <summary>Barrier <paramref name="checkpointId"/> arrived on <paramref name="channel"/>.</summary>
        /// <exception cref="InvalidOperationException">The channel ended, is blocked, or already delivered this barrier.</exception>
        public IReadOnlyList<AlignmentAction> OnBarrier(int channel, long checkpointId)
        {
            CheckChannel(channel);
            if (_ended[channel])
            {
                throw new InvalidOperationException($"Channel {channel} delivered barrier {checkpointId} after its end of input.");
            }

            if (IsBlocked(channel))
            {
                throw new InvalidOperationException($"Channel {channel} delivered barrier {checkpointId} while blocked for the alignment of checkpoint {_alignments[0].Id}.");
            }

            if (checkpointId <= _lastHandledId)
            {
                return NoActions;
            }

            var actions = new List<AlignmentAction>();
            Alignment? alignment = Find(checkpointId);
            if (alignment is null)
            {
                if (_mode == CheckpointingMode.ExactlyOnce && _alignments.Count > 0)
                {
                    if (_alignments[0].Id > checkpointId)
                    {
                        // Older than the one being aligned: that one already replaced it.
                        return NoActions;
                    }

                    // A newer barrier overtook the alignment: Flink gives up the older checkpoint
                    // rather than hold the channels for two.
                    actions.Add(new AbortCheckpoint(_alignments[0].Id, CheckpointDeclineReason.SubsumedByNewerBarrier));
                    _lastHandledId = _alignments[0].Id;
                    _alignments.Clear();
                    actions.Add(UnblockAllChannels.Instance);
                }
                else if (_alignments.Count > 0 && _alignments[^1].Id > checkpointId)
                {
                    // At-least-once: counting resumes in ID order so the "newest first" rule holds.
                    alignment = new Alignment(checkpointId, ChannelCount, _clock.GetTimestamp());
                    _alignments.Insert(InsertionIndex(checkpointId), alignment);
                }

                if (alignment is null)
                {
                    alignment = new Alignment(checkpointId, ChannelCount, _clock.GetTimestamp());
                    _alignments.Add(alignment);
                }
            }
            else if (alignment.Delivered[channel])
            {
                throw new InvalidOperationException($"Channel {channel} delivered barrier {checkpointId} twice.");
            }

            alignment.Delivered[channel] = true;
            alignment.DeliveredCount++;
            if (IsComplete(alignment))
            {
                Complete(alignment, actions);
            }
            else if (_mode == CheckpointingMode.ExactlyOnce)
            {
                alignment.BlockedAnyChannel = true;
                actions.Add(new BlockChannel(channel));
            }

            return actions;
        }

        /// <summary>
        /// <paramref name="channel"/> ended: it counts as aligned for every checkpoint from now on,
        /// which may complete an alignment that only waited for it.
        /// </summary>
        public IReadOnlyList<AlignmentAction> OnEndOfInput(int channel)
        {
            CheckChannel(channel);
            if (_ended[channel])
            {
                throw new InvalidOperationException($"Channel {channel} ended twice.");
            }

            if (IsBlocked(channel))
            {
                throw new InvalidOperationException($"Channel {channel} delivered its end of input while blocked.");
            }

            _ended[channel] = true;
            var actions = new List<AlignmentAction>();

            // The newest complete checkpoint wins and aborts the older ones, so look newest first.
            for (int i = _alignments.Count - 1; i >= 0; i--)
            {
                if (IsComplete(_alignments[i]))
                {
                    Complete(_alignments[i], actions);
                    break;
                }
            }

            return actions.Count == 0 ? NoActions : actions;
        }

        /// <summary>
        /// Checkpoint <paramref name="checkpointId"/> was cancelled: a cancellation marker arrived
        /// from upstream, or the coordinator notified its abort. Returns
        /// <see cref="AbortCheckpoint"/> for it (so the marker travels on downstream, where subtasks
        /// may be aligning it, even if its barriers never reached this subtask) and for every older
        /// checkpoint still being aligned; later barriers of it are ignored. Ignored if the
        /// checkpoint was already snapshotted, aborted or overtaken here.
        /// </summary>
        public IReadOnlyList<AlignmentAction> OnCancellation(long checkpointId)
        {
            if (checkpointId <= _lastHandledId)
            {
                return NoActions;
            }

            var actions = new List<AlignmentAction>();
            bool unblock = false;
            for (int i = 0; i < _alignments.Count && _alignments[i].Id < checkpointId;)
            {
                actions.Add(new AbortCheckpoint(_alignments[i].Id, CheckpointDeclineReason.SubsumedByNewerBarrier));
                unblock |= _alignments[i].BlockedAnyChannel;
                _alignments.RemoveAt(i);
            }

            Alignment? cancelled = Find(checkpointId);
            if (cancelled is not null)
            {
                unblock |= cancelled.BlockedAnyChannel;
                _alignments.Remove(cancelled);
            }

            actions.Add(new AbortCheckpoint(checkpointId, CheckpointDeclineReason.CancelledUpstream));
            if (unblock)
            {
                actions.Add(UnblockAllChannels.Instance);
            }

            _lastHandledId = checkpointId;
            return actions;
        }

        private void Complete(Alignment alignment, List<AlignmentAction> actions)
        {
            for (int i = 0; i < _alignments.Count && _alignments[i].Id < alignment.Id;)
            {
                // At-least-once only (exactly-once holds one alignment): the older checkpoint's
                // records are all in the newer snapshot, so it is given up.
                actions.Add(new AbortCheckpoint(_alignments[i].Id, CheckpointDeclineReason.SubsumedByNewerBarrier));
                _alignments.RemoveAt(i);
            }

            _alignments.Remove(alignment);
            _lastHandledId = alignment.Id;
            actions.Add(new TriggerSnapshot(alignment.Id, _clock.GetElapsedTime(alignment.FirstBarrierTimestamp)));

            // Snapshot first, then unblock: records behind the barrier must not reach the state before it is captured.
            if (alignment.BlockedAnyChannel)
            {
                actions.Add(UnblockAllChannels.Instance);
            }
        }

        private bool IsComplete(Alignment alignment)
        {
            // Delivered channels never end before their barrier is handled in exactly-once mode (they
            // are blocked); in at-least-once mode a channel may deliver and then end, so count each
            // channel once: delivered, or ended without delivering.
            int aligned = alignment.DeliveredCount;
            for (int channel = 0; channel < _ended.Length; channel++)
            {
                if (_ended[channel] && !alignment.Delivered[channel])
                {
                    aligned++;
                }
            }

            return aligned == ChannelCount;
        }

        private Alignment? Find(long checkpointId)
        {
            foreach (Alignment alignment in _alignments)
            {
                if (alignment.Id == checkpointId)
                {
                    return alignment;
                }
            }

            return null;
        }

        private int InsertionIndex(long checkpointId)
        {
            int index = 0;
            while (index < _alignments.Count && _alignments[index].Id < checkpointId)
            {
                index++;
            }

            return index;
        }

        private void CheckChannel(int channel)
        {
            if ((uint)channel >= (uint)_ended.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(channel), channel, $"The subtask has channels 0 to {_ended.Length - 1}.");
            }
        }

        private sealed class Alignment
        {
            public Alignment(long id, int channelCount, long firstBarrierTimestamp)
            {
                Id = id;
                Delivered = new bool[channelCount];
                FirstBarrierTimestamp = firstBarrierTimestamp;
            }

            public long Id { get; }

            public bool[] Delivered { get; }

            public int DeliveredCount { get; set; }

            /// <summary>Whether a <see cref="BlockChannel"/> was issued for it, so its end must unblock.</summary>
            public bool BlockedAnyChannel { get; set; }

            public long FirstBarrierTimestamp { get; }
        }
    }
}
