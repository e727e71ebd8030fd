using System.Collections.Generic;

namespace Weir.Execution
{
    /// <summary>
    /// An input gate read by a subtask that aligns checkpoint barriers: a channel that delivered the
    /// barrier is blocked until the others have too. The gate is one queue for all channels, so a
    /// blocked channel's batches are set aside in arrival order and read again, before anything
    /// newer, once the alignment ends.
    /// </summary>
    internal sealed class AlignedGate<T>
    {
        private readonly InputGate<T> _gate;
        private readonly Queue<Batch<T>> _setAside = new();
        private readonly Queue<Batch<T>> _replay = new();
        private bool[] _blocked;
        private int _blockedCount;

        public AlignedGate(InputGate<T> gate)
        {
            _gate = gate;
            _blocked = new bool[gate.ChannelCount];
        }

        public InputGate<T> Gate => _gate;

        /// <summary>Whether a batch may be readable now (a snapshot).</summary>
        public bool HasBatches => _replay.Count > 0 || _gate.HasBatches;

        /// <summary>The next batch of an unblocked channel, or null when none is waiting.</summary>
        public Batch<T>? TryTake()
        {
            while (true)
            {
                Batch<T>? batch = _replay.Count > 0 ? _replay.Dequeue() : _gate.TryTake();
                if (batch is null || !IsBlocked(batch))
                {
                    return batch;
                }

                _setAside.Enqueue(batch);
            }
        }

        /// <summary>
        /// The next batch of an unblocked channel, waiting for one; null when the job aborts or the
        /// subtask is woken for its mail, or after <paramref name="maxWait"/>.
        /// </summary>
        public Batch<T>? Take(System.TimeSpan? maxWait = null)
        {
            while (true)
            {
                Batch<T>? batch = TryTake() ?? _gate.Take(maxWait);
                if (batch is null || !IsBlocked(batch))
                {
                    return batch;
                }

                _setAside.Enqueue(batch);
            }
        }

        public void Block(int channel)
        {
            if (_blocked.Length <= channel)
            {
                System.Array.Resize(ref _blocked, _gate.ChannelCount);
            }

            if (!_blocked[channel])
            {
                _blocked[channel] = true;
                _blockedCount++;
            }
        }

        public void UnblockAll()
        {
            if (_blockedCount == 0)
            {
                return;
            }

            System.Array.Clear(_blocked);
            _blockedCount = 0;

            // Set-aside batches go before the replay queue's remainder would be wrong only if both
            // held batches of one channel, which cannot happen: a channel's batches are set aside
            // only while it is blocked, and nothing is replayed while it is.
            while (_setAside.Count > 0)
            {
                _replay.Enqueue(_setAside.Dequeue());
            }
        }

        public void Recycle(Batch<T> batch) => _gate.Recycle(batch);

        private bool IsBlocked(Batch<T> batch) => _blockedCount > 0 && _blocked[batch.Channel];
    }
}
