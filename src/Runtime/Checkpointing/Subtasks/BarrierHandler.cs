using System;
using System.Collections.Generic;
using Weir.Checkpointing.Alignment;
using Weir.Checkpointing.Coordinator;

namespace Weir.Checkpointing.Subtasks
{
    /// <summary>
    /// Carries out what a subtask's <see cref="BarrierAligner"/> decides: block and unblock input
    /// channels, snapshot, decline or pass a cancellation on. Channels are numbered over all the
    /// subtask's inputs (input 1's channels follow input 0's).
    /// </summary>
    internal sealed class BarrierHandler
    {
        private readonly BarrierAligner _aligner;
        private readonly SubtaskCheckpointer _checkpointer;
        private readonly Action<int> _block;
        private readonly Action _unblockAll;

        public BarrierHandler(int channelCount, CheckpointingMode mode, SubtaskCheckpointer checkpointer, Action<int> block, Action unblockAll)
        {
            _aligner = new BarrierAligner(channelCount, mode);
            _checkpointer = checkpointer;
            _block = block;
            _unblockAll = unblockAll;
            checkpointer.OnAbortedWhileAligning = id => Apply(_aligner.OnCancellation(id), fromCoordinator: true);
        }

        public void OnBarrier(int channel, long checkpointId) => Apply(_aligner.OnBarrier(channel, checkpointId), fromCoordinator: false);

        public void OnCancelBarrier(long checkpointId) => Apply(_aligner.OnCancellation(checkpointId), fromCoordinator: false);

        public void OnEndOfInput(int channel) => Apply(_aligner.OnEndOfInput(channel), fromCoordinator: false);

        /// <summary>
        /// A barrier arrived on the input that is read to its end first (<c>BroadcastFirst</c>):
        /// aligning it would block that input while the other is not read at all, a deadlock. The
        /// checkpoint is declined (not a failure) and the subtasks downstream are told.
        /// </summary>
        public void DeclineWhileReadingOneInputFirst(long checkpointId)
        {
            Apply(_aligner.OnCancellation(checkpointId), fromCoordinator: true);
            _checkpointer.Decline(checkpointId, CheckpointDeclineReason.InputReadFirst, $"Checkpoint {checkpointId} arrived while the broadcast input is still read to its end first (BroadcastFirst); the next checkpoint is taken once it has ended.");
        }

        private void Apply(IReadOnlyList<AlignmentAction> actions, bool fromCoordinator)
        {
            foreach (AlignmentAction action in actions)
            {
                switch (action)
                {
                    case BlockChannel block:
                        _block(block.Channel);
                        break;
                    case TriggerSnapshot snapshot:
                        _checkpointer.Perform(snapshot.CheckpointId, snapshot.AlignmentDuration);
                        break;
                    case UnblockAllChannels:
                        _unblockAll();
                        break;
                    case AbortCheckpoint { Reason: CheckpointDeclineReason.CancelledUpstream } cancelled:
                        // The coordinator already knows (it sent the abort, or an upstream subtask declined);
                        // subtasks downstream may be aligning it, so the marker travels on.
                        if (!fromCoordinator)
                        {
                            _checkpointer.ForwardCancellation(cancelled.CheckpointId);
                        }

                        break;
                    case AbortCheckpoint abort:
                        _checkpointer.Decline(abort.CheckpointId, abort.Reason, $"Checkpoint {abort.CheckpointId} was overtaken by a newer barrier during alignment.");
                        break;
                }
            }
        }
    }
}
