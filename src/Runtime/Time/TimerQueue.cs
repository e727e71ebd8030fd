using System.Collections.Generic;

namespace Weir.Time
{
    /// <summary>
    /// The in-memory order of one operator's timers of one domain: a min-heap of distinct timestamps,
    /// each with the keys that have a timer then. Window operators register one timer per key and
    /// window, and all keys' windows end at the same timestamps, so thousands of timers share one heap
    /// entry and fire by walking a list: a heap entry per timer would cost a cache miss per level, per
    /// timer. Lists are recycled, so steady state allocates nothing.
    /// </summary>
    internal sealed class TimerQueue<TKey>
    {
        private readonly PriorityQueue<long, long> _timestamps = new();
        private readonly Dictionary<long, List<(int KeyGroup, TKey Key)>> _keysAt = new();
        private readonly Stack<List<(int KeyGroup, TKey Key)>> _spareLists = new();
        private List<(int KeyGroup, TKey Key)>? _firing;
        private long _firingTimestamp;
        private int _firingNext;

        /// <summary>Number of queued timers (entries of deleted timers included until they come up).</summary>
        public int Count { get; private set; }

        public void Enqueue(long timestamp, int keyGroup, TKey key)
        {
            if (_firing is not null && timestamp == _firingTimestamp)
            {
                // Registered while its timestamp is firing (a callback registering the same time again).
                _firing.Add((keyGroup, key));
                Count++;
                return;
            }

            if (!_keysAt.TryGetValue(timestamp, out List<(int KeyGroup, TKey Key)>? keys))
            {
                keys = _spareLists.Count > 0 ? _spareLists.Pop() : new List<(int KeyGroup, TKey Key)>();
                _keysAt.Add(timestamp, keys);
                _timestamps.Enqueue(timestamp, timestamp);
            }

            keys.Add((keyGroup, key));
            Count++;
        }

        /// <summary>The earliest queued timestamp, or <see cref="long.MaxValue"/>.</summary>
        public long Earliest
        {
            get
            {
                if (_firing is not null)
                {
                    return _firingTimestamp;
                }

                return _timestamps.TryPeek(out long timestamp, out _) ? timestamp : long.MaxValue;
            }
        }

        /// <summary>Takes the next timer at or before <paramref name="upTo"/>, in timestamp order.</summary>
        public bool TryDequeue(long upTo, out long timestamp, out int keyGroup, out TKey key)
        {
            while (true)
            {
                if (_firing is not null)
                {
                    if (_firingNext < _firing.Count)
                    {
                        (keyGroup, key) = _firing[_firingNext++];
                        timestamp = _firingTimestamp;
                        Count--;
                        return true;
                    }

                    _firing.Clear();
                    _spareLists.Push(_firing);
                    _firing = null;
                }

                if (!_timestamps.TryPeek(out long next, out _) || next > upTo)
                {
                    timestamp = 0;
                    keyGroup = 0;
                    key = default!;
                    return false;
                }

                _timestamps.Dequeue();
                _keysAt.Remove(next, out _firing);
                _firingTimestamp = next;
                _firingNext = 0;
            }
        }

        public void Clear()
        {
            _timestamps.Clear();
            _keysAt.Clear();
            _firing = null;
            Count = 0;
        }
    }
}
