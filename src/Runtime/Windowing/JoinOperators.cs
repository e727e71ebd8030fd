using System;
using System.Collections.Generic;
using System.ComponentModel;
using Weir.CompilerServices;
using Weir.State;
using Weir.Time;

namespace Weir.Windowing
{
    /// <summary>The keyed state both join operators keep each input's records in: timestamp or window end → records.</summary>
    internal static class JoinSides
    {
        public const string FirstStateName = "__join-first";

        public const string SecondStateName = "__join-second";

        public static MapState<long, List<T>> Declare<TKey, T>(KeyedStateTable<TKey> table, string name)
            where TKey : notnull
            => table.Map<long, List<T>>(
                new StateDescriptor(name, KeyedStateKind.Map, $"MapState<long, List<{typeof(T).Name}>>"),
                MemoryPackStateSerializer<long>.Instance,
                MemoryPackStateSerializer<List<T>>.Instance);

        public static InvalidOperationException NoTimestamp(string kind, string operatorId) => new(
            $"{kind} '{operatorId}' received a record without an event-time timestamp; assign timestamps and watermarks on both inputs.");
    }

    /// <summary>
    /// The state of a keyed window join on one subtask (Flink's window join): each window keeps the
    /// records of both inputs for a key; when the watermark passes the window's end every pair is joined
    /// and the window is dropped. The records are keyed state (maps from window end to the lists of
    /// each side) and firing is a keyed event-time timer, so both are checkpointed and rescaled like any
    /// keyed state. Records late for every window are dropped. Non-merging windows only.
    /// </summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public sealed class WindowJoinOperator<TKey, TIn1, TIn2, TAssigner>
        where TKey : notnull
        where TAssigner : struct, IWindowAssigner
    {
        private readonly string _operatorId;
        private readonly TAssigner _assigner;
        private readonly MapState<long, List<TIn1>> _first;
        private readonly MapState<long, List<TIn2>> _second;
        private readonly KeyedTimers<TKey> _timers;
        private readonly TimeWindow[] _assigned;

        /// <summary>Creates the join state of one operator on one subtask.</summary>
        public WindowJoinOperator(string operatorId, KeyedStateTable<TKey> table, SubtaskContext context, TAssigner assigner)
        {
            if (assigner.IsMerging)
            {
                throw new NotSupportedException($"Window join '{operatorId}': merging (session) windows cannot be joined; use tumbling or sliding windows.");
            }

            _operatorId = operatorId;
            _assigner = assigner;
            _first = JoinSides.Declare<TKey, TIn1>(table, JoinSides.FirstStateName);
            _second = JoinSides.Declare<TKey, TIn2>(table, JoinSides.SecondStateName);
            _timers = new KeyedTimers<TKey>(table, context);
            _assigned = new TimeWindow[Math.Max(1, assigner.MaxWindowsPerRecord)];
        }

        /// <summary>Adds a record of the first input (current key); false when late for every window.</summary>
        public bool Add1(in TIn1 value, long timestamp) => Add(_first, in value, timestamp);

        /// <summary>Adds a record of the second input (current key); false when late for every window.</summary>
        public bool Add2(in TIn2 value, long timestamp) => Add(_second, in value, timestamp);

        private bool Add<T>(MapState<long, List<T>> side, in T value, long timestamp)
        {
            if (timestamp == Watermarks.NoTimestamp)
            {
                throw JoinSides.NoTimestamp("Window join", _operatorId);
            }

            int count = _assigner.AssignWindows(timestamp, _assigned);
            bool accepted = false;
            long watermark = _timers.CurrentWatermark;
            for (int i = 0; i < count; i++)
            {
                TimeWindow window = _assigned[i];
                if (window.MaxTimestamp <= watermark && watermark != Watermarks.NoTimestamp)
                {
                    continue;
                }

                accepted = true;
                ref List<T> records = ref side.GetValueRefOrAddDefault(window.End, out bool exists);
                if (!exists || records is null)
                {
                    records = new List<T>();
                }

                records.Add(value);
                _timers.RegisterEventTimeTimer(window.MaxTimestamp);
            }

            return accepted;
        }

        /// <summary>Event time advanced; call <see cref="TryFire"/> until it returns false.</summary>
        public void AdvanceWatermark(long watermark) => _timers.AdvanceWatermark(watermark);

        /// <summary>
        /// The next window whose end the watermark passed, with both sides' records (either may be empty:
        /// an inner join then emits nothing); its key is current. The window's state is dropped.
        /// </summary>
        public bool TryFire(out TimeWindow window, out List<TIn1>? first, out List<TIn2>? second)
        {
            while (_timers.TryFireEventTime(out long timestamp))
            {
                long end = timestamp + 1;
                _first.TryGetValue(end, out first);
                _second.TryGetValue(end, out second);
                if (first is null && second is null)
                {
                    continue;
                }

                _first.Remove(end);
                _second.Remove(end);
                window = new TimeWindow(end - _assigner.Size, end);
                return true;
            }

            window = default;
            first = null;
            second = null;
            return false;
        }
    }

    /// <summary>
    /// The state of a keyed interval join on one subtask (Flink's interval join): a record of the first
    /// input at <c>t</c> joins every record of the second with a timestamp in
    /// <c>[t + lower, t + upper]</c>. Each side's records are buffered in keyed state by timestamp and
    /// dropped by a keyed timer once no record of the other side can still match them; records behind
    /// the watermark are dropped, as in Flink.
    /// </summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public sealed class IntervalJoinOperator<TKey, TIn1, TIn2>
        where TKey : notnull
    {
        private readonly string _operatorId;
        private readonly long _lower;
        private readonly long _upper;
        private readonly MapState<long, List<TIn1>> _first;
        private readonly MapState<long, List<TIn2>> _second;
        private readonly KeyedTimers<TKey> _timers;
        private readonly List<(TIn1 Record, long Timestamp)> _firstMatches = new();
        private readonly List<(TIn2 Record, long Timestamp)> _secondMatches = new();

        /// <summary>Creates the join state of one operator on one subtask.</summary>
        /// <param name="operatorId">The operator's ID, for errors.</param>
        /// <param name="table">The operator's keyed state.</param>
        /// <param name="context">The subtask.</param>
        /// <param name="lowerBound">The lower bound in milliseconds (may be negative).</param>
        /// <param name="upperBound">The upper bound in milliseconds, at least the lower bound.</param>
        public IntervalJoinOperator(string operatorId, KeyedStateTable<TKey> table, SubtaskContext context, long lowerBound, long upperBound)
        {
            if (upperBound < lowerBound)
            {
                throw new ArgumentException($"Interval join '{operatorId}': the upper bound ({upperBound} ms) is below the lower bound ({lowerBound} ms).");
            }

            _operatorId = operatorId;
            _lower = lowerBound;
            _upper = upperBound;
            _first = JoinSides.Declare<TKey, TIn1>(table, JoinSides.FirstStateName);
            _second = JoinSides.Declare<TKey, TIn2>(table, JoinSides.SecondStateName);
            _timers = new KeyedTimers<TKey>(table, context);
        }

        /// <summary>
        /// Buffers a record of the first input (current key) and returns the second input's records it
        /// joins (valid until the next call); empty when the record is late (dropped).
        /// </summary>
        public List<(TIn2 Record, long Timestamp)> Add1(in TIn1 value, long timestamp)
        {
            _secondMatches.Clear();
            if (IsLate(timestamp))
            {
                return _secondMatches;
            }

            Buffer(_first, in value, timestamp);
            _timers.RegisterEventTimeTimer(timestamp + _upper);
            foreach (KeyValuePair<long, List<TIn2>> entry in _second)
            {
                if (entry.Key >= timestamp + _lower && entry.Key <= timestamp + _upper)
                {
                    foreach (TIn2 record in entry.Value)
                    {
                        _secondMatches.Add((record, entry.Key));
                    }
                }
            }

            return _secondMatches;
        }

        /// <summary>Buffers a record of the second input and returns the first input's records it joins (see <see cref="Add1"/>).</summary>
        public List<(TIn1 Record, long Timestamp)> Add2(in TIn2 value, long timestamp)
        {
            _firstMatches.Clear();
            if (IsLate(timestamp))
            {
                return _firstMatches;
            }

            Buffer(_second, in value, timestamp);
            _timers.RegisterEventTimeTimer(timestamp - _lower);
            foreach (KeyValuePair<long, List<TIn1>> entry in _first)
            {
                if (timestamp >= entry.Key + _lower && timestamp <= entry.Key + _upper)
                {
                    foreach (TIn1 record in entry.Value)
                    {
                        _firstMatches.Add((record, entry.Key));
                    }
                }
            }

            return _firstMatches;
        }

        /// <summary>Event time advanced: drops buffered records no later record can match.</summary>
        public void AdvanceWatermark(long watermark)
        {
            _timers.AdvanceWatermark(watermark);
            while (_timers.TryFireEventTime(out long timestamp))
            {
                // A first-input record at t is kept until t + upper, a second-input record at t until t - lower.
                _first.Remove(timestamp - _upper);
                _second.Remove(timestamp + _lower);
            }
        }

        private bool IsLate(long timestamp)
        {
            if (timestamp == Watermarks.NoTimestamp)
            {
                throw JoinSides.NoTimestamp("Interval join", _operatorId);
            }

            return _timers.CurrentWatermark != Watermarks.NoTimestamp && timestamp < _timers.CurrentWatermark;
        }

        private static void Buffer<T>(MapState<long, List<T>> side, in T value, long timestamp)
        {
            ref List<T> records = ref side.GetValueRefOrAddDefault(timestamp, out bool exists);
            if (!exists || records is null)
            {
                records = new List<T>();
            }

            records.Add(value);
        }
    }
}
