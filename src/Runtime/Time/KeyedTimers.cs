using System;
using System.Collections.Generic;
using System.ComponentModel;
using Weir.State;

namespace Weir.Time
{
    /// <summary>Which clock a timer follows.</summary>
    public enum TimeDomain
    {
        /// <summary>Event time: fires when the watermark passes the timer's timestamp.</summary>
        EventTime,

        /// <summary>Processing time: fires when the wall clock passes the timer's timestamp.</summary>
        ProcessingTime,
    }

    /// <summary>The current key's timers, as a process function reaches them through its context.</summary>
    public interface ITimerService
    {
        /// <summary>The event time the operator has reached.</summary>
        long CurrentWatermark { get; }

        /// <summary>Registers an event-time timer for the current key.</summary>
        void RegisterEventTimeTimer(long timestamp);

        /// <summary>Registers a processing-time timer for the current key.</summary>
        void RegisterProcessingTimeTimer(long timestamp);

        /// <summary>Deletes the current key's event-time timer at a timestamp, if any.</summary>
        void DeleteEventTimeTimer(long timestamp);

        /// <summary>Deletes the current key's processing-time timer at a timestamp, if any.</summary>
        void DeleteProcessingTimeTimer(long timestamp);
    }

    /// <summary>
    /// The timers of one keyed operator on one subtask (Flink's InternalTimerService). A timer is keyed
    /// state: each key's timers are entries of a hidden map state (<see cref="StateName"/>: timestamp →
    /// domains), so they are checkpointed incrementally with the key's other state, cut by key group and
    /// redistributed on rescale for free. Two in-memory priority queues (one per domain) order them by
    /// timestamp; they are derived from the state and rebuilt after a restore. A timer registered twice
    /// for the same key, timestamp and domain fires once; deleting one leaves its queue entry, which is
    /// skipped when it comes up.
    /// </summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public sealed class KeyedTimers<TKey> : ITimerService
        where TKey : notnull
    {
        /// <summary>The name of the hidden map state holding the timers.</summary>
        public const string StateName = "__timers";

        private const byte EventTimeFlag = 1;
        private const byte ProcessingTimeFlag = 2;

        private readonly KeyedStateTable<TKey> _table;
        private readonly MapState<long, byte> _timers;
        private readonly TimerQueue<TKey> _eventTime = new();
        private readonly TimerQueue<TKey> _processingTime = new();
        /// <summary>
        /// Creates the timers of the operator whose keyed state is <paramref name="table"/>; the queues are
        /// filled from the restored state once the subtask's state is restored.
        /// </summary>
        public KeyedTimers(KeyedStateTable<TKey> table, CompilerServices.SubtaskContext context)
        {
            _table = table;
            context.AfterRestore(Load);
            _timers = table.Map<long, byte>(
                new StateDescriptor(StateName, KeyedStateKind.Map, "MapState<long, byte>"),
                MemoryPackStateSerializer<long>.Instance,
                MemoryPackStateSerializer<byte>.Instance);
        }

        /// <summary>The event time the timers have been advanced to.</summary>
        public long CurrentWatermark { get; private set; } = Watermarks.NoTimestamp;

        /// <summary>Number of timers waiting, both domains (queue entries of deleted timers included).</summary>
        public int QueuedCount => _eventTime.Count + _processingTime.Count;

        /// <summary>Registers an event-time timer for the current key.</summary>
        public void RegisterEventTimeTimer(long timestamp) => Register(timestamp, EventTimeFlag, _eventTime);

        /// <summary>Registers a processing-time timer for the current key.</summary>
        public void RegisterProcessingTimeTimer(long timestamp) => Register(timestamp, ProcessingTimeFlag, _processingTime);

        /// <summary>Deletes the current key's event-time timer at <paramref name="timestamp"/>, if any.</summary>
        public void DeleteEventTimeTimer(long timestamp) => Delete(timestamp, EventTimeFlag);

        /// <summary>Deletes the current key's processing-time timer at <paramref name="timestamp"/>, if any.</summary>
        public void DeleteProcessingTimeTimer(long timestamp) => Delete(timestamp, ProcessingTimeFlag);

        /// <summary>The earliest processing-time timer's timestamp, or <see cref="long.MaxValue"/>.</summary>
        public long NextProcessingTime
        {
            get
            {
                return _processingTime.Earliest;
            }
        }

        /// <summary>Event time advanced; call <see cref="TryFireEventTime"/> until it returns false.</summary>
        public void AdvanceWatermark(long watermark)
        {
            if (watermark > CurrentWatermark)
            {
                CurrentWatermark = watermark;
            }
        }

        /// <summary>
        /// Takes the earliest event-time timer at or before the current watermark: its key becomes the
        /// table's current key and the timer is removed. False when none is due.
        /// </summary>
        public bool TryFireEventTime(out long timestamp) => TryFire(_eventTime, EventTimeFlag, CurrentWatermark, out timestamp);

        /// <summary>Takes the earliest processing-time timer at or before <paramref name="now"/> (see <see cref="TryFireEventTime"/>).</summary>
        public bool TryFireProcessingTime(long now, out long timestamp) => TryFire(_processingTime, ProcessingTimeFlag, now, out timestamp);

        private void Register(long timestamp, byte flag, TimerQueue<TKey> queue)
        {
            ref byte domains = ref _timers.GetValueRefOrAddDefault(timestamp, out _);
            if ((domains & flag) != 0)
            {
                return;
            }

            domains |= flag;
            queue.Enqueue(timestamp, _table.CurrentKeyGroup, _table.CurrentKey);
        }

        private void Delete(long timestamp, byte flag)
        {
            if (!_timers.TryGetValue(timestamp, out byte domains) || (domains & flag) == 0)
            {
                return;
            }

            domains &= (byte)~flag;
            if (domains == 0)
            {
                _timers.Remove(timestamp);
            }
            else
            {
                _timers.Put(timestamp, domains);
            }
        }

        private bool TryFire(TimerQueue<TKey> queue, byte flag, long upTo, out long timestamp)
        {
            while (queue.TryDequeue(upTo, out timestamp, out int keyGroup, out TKey key))
            {
                _table.Select(keyGroup, in key);
                if (_timers.TryGetValue(timestamp, out byte domains) && (domains & flag) != 0)
                {
                    // Removed before the callback runs, so the callback may register the same timer again.
                    Delete(timestamp, flag);
                    return true;
                }

                // Deleted, or a duplicate queue entry of a timer that already fired.
            }

            timestamp = 0;
            return false;
        }

        /// <summary>
        /// The queues are derived from the state: once it is restored, every key's timers are read back
        /// into them (before the first record, so no key is current yet).
        /// </summary>
        private void Load()
        {
            _eventTime.Clear();
            _processingTime.Clear();
            var found = new List<(int KeyGroup, TKey Key, long Timestamp, byte Domains)>();
            _table.ForEachKey(_table.KeyGroups, (keyGroup, key) =>
            {
                foreach (KeyValuePair<long, byte> timer in _timers)
                {
                    found.Add((keyGroup, key, timer.Key, timer.Value));
                }
            });

            foreach ((int keyGroup, TKey key, long timestamp, byte domains) in found)
            {
                if ((domains & EventTimeFlag) != 0)
                {
                    _eventTime.Enqueue(timestamp, keyGroup, key);
                }

                if ((domains & ProcessingTimeFlag) != 0)
                {
                    _processingTime.Enqueue(timestamp, keyGroup, key);
                }
            }
        }
    }
}
