using System.Collections.Generic;
using System.Threading;

namespace Weir.Execution
{
    /// <summary>The untyped face of an input gate, for the executor.</summary>
    public abstract class InputGate
    {
        /// <summary>How many end-of-input markers the gate waits for (one per sending channel).</summary>
        public int ChannelCount { get; internal set; }
    }

    /// <summary>
    /// The bounded queue of batches in front of one subtask. Any number of upstream subtasks send into
    /// it; when it is full they block (backpressure), when it is empty the subtask blocks. Batches are
    /// returned to the gate's pool after use, so the exchange allocates nothing in steady state.
    /// </summary>
    public sealed class InputGate<T> : InputGate
    {
        private readonly object _lock = new();
        private readonly Batch<T>[] _ring;
        private readonly Stack<Batch<T>> _free = new();
        private readonly int _batchSize;
        private readonly CancellationToken _abort;
        private int _head;
        private int _count;
        private int _waitingSenders;
        private bool _receiverWaiting;
        private bool _wakeRequested;

        /// <summary>Creates a gate holding at most <paramref name="capacity"/> batches of <paramref name="batchSize"/> records.</summary>
        public InputGate(int capacity, int batchSize, CancellationToken abort)
        {
            _ring = new Batch<T>[capacity];
            _batchSize = batchSize;
            _abort = abort;
        }

        /// <summary>
        /// Set after every enqueued batch when the gate is one input of a two-input subtask: that
        /// subtask waits on one event shared by both of its gates, since it cannot block on either gate
        /// alone. Assigned before the job's threads start.
        /// </summary>
        internal ManualResetEventSlim? Available { get; set; }

        /// <summary>Records per batch.</summary>
        public int BatchSize => _batchSize;

        /// <summary>Takes an empty batch from the pool (allocating only while the pool warms up).</summary>
        public Batch<T> Rent()
        {
            lock (_lock)
            {
                if (_free.Count > 0)
                {
                    return _free.Pop();
                }
            }

            return new Batch<T>(_batchSize);
        }

        /// <summary>Returns a consumed batch to the pool.</summary>
        public void Recycle(Batch<T> batch)
        {
            batch.Reset();
            lock (_lock)
            {
                _free.Push(batch);
            }
        }

        /// <summary>Enqueues a batch, blocking while the gate is full. False when the job is aborting.</summary>
        public bool Send(Batch<T> batch)
        {
            lock (_lock)
            {
                while (_count == _ring.Length)
                {
                    if (_abort.IsCancellationRequested)
                    {
                        return false;
                    }

                    _waitingSenders++;
                    Monitor.Wait(_lock, 50);
                    _waitingSenders--;
                }

                _ring[(_head + _count) % _ring.Length] = batch;
                _count++;
                if (_receiverWaiting)
                {
                    Monitor.PulseAll(_lock);
                }
            }

            // Outside the lock: the event has its own, and a waiting receiver re-checks the gates.
            Available?.Set();
            return true;
        }

        /// <summary>Wakes a receiver blocked in <see cref="Take"/> (it has mail to handle) without giving it a batch.</summary>
        internal void Wake()
        {
            lock (_lock)
            {
                _wakeRequested = true;
                if (_receiverWaiting)
                {
                    Monitor.PulseAll(_lock);
                }
            }

            Available?.Set();
        }

        /// <summary>Whether a batch is waiting (a snapshot: another thread may change it at once).</summary>
        internal bool HasBatches
        {
            get
            {
                lock (_lock)
                {
                    return _count > 0;
                }
            }
        }

        /// <summary>Dequeues a batch without blocking; null when the gate is empty.</summary>
        public Batch<T>? TryTake()
        {
            lock (_lock)
            {
                return _count == 0 ? null : DequeueLocked();
            }
        }

        /// <summary>
        /// Dequeues a batch, blocking while the gate is empty; null when the job is aborting, when
        /// <see cref="Wake"/> was called (the receiver checks its mail and asks again) or after
        /// <paramref name="maxWait"/>.
        /// </summary>
        public Batch<T>? Take(System.TimeSpan? maxWait = null)
        {
            long deadline = maxWait is { } wait ? System.Environment.TickCount64 + (long)wait.TotalMilliseconds : long.MaxValue;
            lock (_lock)
            {
                while (_count == 0)
                {
                    if (_abort.IsCancellationRequested || _wakeRequested)
                    {
                        _wakeRequested = false;
                        return null;
                    }

                    if (System.Environment.TickCount64 >= deadline)
                    {
                        // The receiver has processing-time work (watermarks, timers) before it may wait again.
                        return null;
                    }

                    _receiverWaiting = true;
                    Monitor.Wait(_lock, 50);
                    _receiverWaiting = false;
                }

                return DequeueLocked();
            }
        }

        private Batch<T> DequeueLocked()
        {
            Batch<T> batch = _ring[_head];
            _ring[_head] = null!;
            _head = (_head + 1) % _ring.Length;
            _count--;
            if (_waitingSenders > 0)
            {
                Monitor.PulseAll(_lock);
            }

            return batch;
        }
    }
}
