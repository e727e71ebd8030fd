using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using Weir.CompilerServices;
using Weir.State;
using Weir.Time;

namespace Weir.Windowing
{
    /// <summary>
    /// The state and timers of a keyed event-time window operator on one subtask (Flink's
    /// WindowOperator with its EventTimeTrigger). Generated code selects the record's key, calls
    /// <see cref="Add"/>, and on every watermark takes the windows that fire with <see cref="TryFire"/>,
    /// calling the user's function on each. Window contents are keyed state (a map per key from window
    /// end to contents, plus window starts for merging windows) and firing is a keyed event-time timer
    /// at the window's last millisecond, so both are checkpointed, restored and rescaled with their key
    /// group like any other state.
    /// </summary>
    /// <remarks>
    /// A record is late for a window once the watermark has passed the window's end plus the allowed
    /// lateness (its cleanup time); a record late for every window it belongs to is dropped, and
    /// <see cref="Add"/> returns false so the caller can send it to the late side output. A record within
    /// the allowed lateness of a window that has already fired updates it and fires it again.
    /// </remarks>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public sealed class WindowOperator<TKey, TIn, TAcc, TAssigner, TContents>
        where TKey : notnull
        where TAssigner : struct, IWindowAssigner
        where TContents : struct, IWindowContents<TIn, TAcc>
    {
        /// <summary>The name of the map state holding window contents (window end → contents).</summary>
        public const string ContentsStateName = "__window-contents";

        /// <summary>The name of the map state holding merging windows' starts (window end → start).</summary>
        public const string StartsStateName = "__window-starts";

        private readonly KeyedStateTable<TKey> _table;
        private readonly TAssigner _assigner;
        private readonly long _allowedLateness;
        private readonly long _size;
        private readonly string _operatorId;
        // Non-merging windows: a key's windows inline by slot. Merging (session) windows: maps.
        private readonly WindowContentsState<TAcc>? _windows;
        private readonly MapState<long, TAcc>? _sessions;
        private readonly MapState<long, long>? _starts;

        // The timers that fire windows. Windows without allowed lateness that do not merge derive them
        // from their contents (every open window is due at its last millisecond, and a fired window is
        // gone), so they keep only the in-memory queue and rebuild it after a restore; the others keep
        // keyed timers in state, because a window kept for its lateness has fired already and must not
        // fire again after a restore.
        private readonly KeyedTimers<TKey>? _timers;
        private readonly TimerQueue<TKey>? _derivedTimers;
        private long _watermark = Watermarks.NoTimestamp;
        private readonly TimeWindow[] _assigned;
        private readonly List<(TimeWindow Window, TAcc Contents)> _ready = new();
        private readonly List<TimeWindow> _merging = new();
        private TContents _function;
        private int _readyHead;

        /// <summary>Creates the window state of one operator on one subtask.</summary>
        /// <param name="operatorId">The operator's ID, for errors.</param>
        /// <param name="table">The operator's keyed state.</param>
        /// <param name="context">The subtask.</param>
        /// <param name="assigner">Which windows a record belongs to.</param>
        /// <param name="contents">How a window keeps its records.</param>
        /// <param name="allowedLateness">How long after a window's end it still accepts records, in milliseconds.</param>
        /// <param name="contentsSerializer">Serializes window contents into checkpoints.</param>
        /// <param name="timersInState">Keep the timers as keyed state (<c>__timers</c>), as the job's state manifest says; otherwise (non-merging, no lateness) they are derived from the open windows.</param>
        public WindowOperator(
            string operatorId,
            KeyedStateTable<TKey> table,
            SubtaskContext context,
            TAssigner assigner,
            TContents contents,
            long allowedLateness,
            IStateSerializer<TAcc> contentsSerializer,
            bool timersInState)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(allowedLateness);
            _operatorId = operatorId;
            _table = table;
            _assigner = assigner;
            _function = contents;
            _allowedLateness = allowedLateness;
            // A non-merging window's start is its end minus the size; merging windows keep their starts.
            _size = assigner.Size;
            var contentsDescriptor = new StateDescriptor(ContentsStateName, KeyedStateKind.Map, $"MapState<long, {typeof(TAcc).Name}>");
            if (!assigner.IsMerging)
            {
                _windows = table.WindowContents(contentsDescriptor, contentsSerializer);
            }
            else
            {
                _sessions = table.Map<long, TAcc>(contentsDescriptor, MemoryPackStateSerializer<long>.Instance, contentsSerializer);
                _starts = table.Map<long, long>(
                    new StateDescriptor(StartsStateName, KeyedStateKind.Map, "MapState<long, long>"),
                    MemoryPackStateSerializer<long>.Instance,
                    MemoryPackStateSerializer<long>.Instance);
            }

            // The generator decides (and lists `__timers` in the job's state manifest exactly when it does):
            // merging windows and declared lateness need timers in state.
            if (timersInState || assigner.IsMerging || allowedLateness > 0)
            {
                _timers = new KeyedTimers<TKey>(table, context);
            }
            else
            {
                _derivedTimers = new TimerQueue<TKey>();
                context.AfterRestore(RebuildDerivedTimers);
            }

            _assigned = new TimeWindow[Math.Max(1, assigner.MaxWindowsPerRecord)];
        }

        /// <summary>The operator's event time: the last watermark it received.</summary>
        public long CurrentWatermark => _watermark;

        /// <summary>The user's function, held by the contents struct.</summary>
        public ref TContents Contents => ref _function;

        /// <summary>
        /// Adds a record of the current key with event time <paramref name="timestamp"/> to its windows.
        /// Returns false when the record is late for every window (dropped: send it to the late output).
        /// Windows that must fire at once (a late record within the allowed lateness) are then available
        /// from <see cref="TryTakeReady"/>.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool Add(in TIn value, long timestamp)
        {
            if (timestamp == Watermarks.NoTimestamp)
            {
                ThrowNoTimestamp();
            }

            if (_windows is null)
            {
                return AddMerging(in value, timestamp);
            }

            int count = _assigner.AssignWindows(timestamp, _assigned);
            bool accepted = false;
            long watermark = _watermark;
            for (int i = 0; i < count; i++)
            {
                TimeWindow window = _assigned[i];
                if (window.MaxTimestamp + _allowedLateness <= watermark && watermark != Watermarks.NoTimestamp)
                {
                    continue; // late for this window
                }

                accepted = true;
                ref TAcc contents = ref _windows.GetValueRefOrAddDefault(window.End, out bool exists);
                _function.Add(in value, ref contents, !exists);
                if (!exists)
                {
                    RegisterTimers(window);
                }

                if (window.MaxTimestamp <= watermark)
                {
                    // Within the allowed lateness of a window that already fired: fire it again, now.
                    _ready.Add((window, contents));
                }
            }

            return accepted;
        }

        private bool AddMerging(in TIn value, long timestamp)
        {
            _assigner.AssignWindows(timestamp, _assigned);
            TimeWindow merged = _assigned[0];
            long watermark = _watermark;

            // Every session of the key that the new one overlaps, transitively (a record can bridge two).
            _merging.Clear();
            bool grew = true;
            while (grew)
            {
                grew = false;
                foreach (KeyValuePair<long, long> session in _starts!)
                {
                    var window = new TimeWindow(session.Value, session.Key);
                    if (!_merging.Contains(window) && window.Intersects(merged))
                    {
                        _merging.Add(window);
                        merged = merged.Cover(window);
                        grew = true;
                    }
                }
            }

            if (merged.MaxTimestamp + _allowedLateness <= watermark && watermark != Watermarks.NoTimestamp)
            {
                return false;
            }

            TAcc contents = default!;
            bool first = true;
            foreach (TimeWindow old in _merging)
            {
                TAcc oldContents = _sessions!.Get(old.End);
                contents = first ? oldContents : _function.Merge(in contents, in oldContents);
                first = false;
                RemoveWindow(old.End);

                // The merged session's timers stay: timers are per key and timestamp, not per window, so
                // another live session of the key may share one (its end, or its cleanup time), and a
                // timer with no window ending at its time fires nothing.
            }

            _function.Add(in value, ref contents, first);
            _sessions!.Put(merged.End, contents);
            _starts!.Put(merged.End, merged.Start);
            RegisterTimers(merged);
            if (merged.MaxTimestamp <= watermark)
            {
                _ready.Add((merged, contents));
            }

            return true;
        }

        /// <summary>Takes the next window that must fire at once after <see cref="Add"/> (the current key's).</summary>
        public bool TryTakeReady(out TimeWindow window, out TAcc contents)
        {
            if (_readyHead < _ready.Count)
            {
                (window, contents) = _ready[_readyHead++];
                if (_readyHead == _ready.Count)
                {
                    _ready.Clear();
                    _readyHead = 0;
                }

                return true;
            }

            window = default;
            contents = default!;
            return false;
        }

        /// <summary>Event time advanced; call <see cref="TryFire"/> until it returns false.</summary>
        public void AdvanceWatermark(long watermark)
        {
            if (watermark > _watermark)
            {
                _watermark = watermark;
                _timers?.AdvanceWatermark(watermark);
            }
        }

        /// <summary>
        /// Takes the next window whose end the watermark has passed: its key is current in the table
        /// (<see cref="KeyedStateTable{TKey}.CurrentKey"/>). Windows whose allowed lateness has passed are
        /// cleared on the way.
        /// </summary>
        public bool TryFire(out TimeWindow window, out TAcc contents)
        {
            while (NextDueTimer(out long timestamp))
            {
                long end = timestamp + 1;
                if (_allowedLateness > 0)
                {
                    // The cleanup timer of a window that fired earlier: its lateness is over.
                    RemoveWindow(end - _allowedLateness);
                }

                bool open = _windows is not null ? _windows.TryGetValue(end, out contents) : _sessions!.TryGetValue(end, out contents);
                if (open)
                {
                    long start = _starts is null ? end - _size : _starts.Get(end);
                    window = new TimeWindow(start, end);
                    if (_allowedLateness == 0)
                    {
                        RemoveWindow(end);
                    }

                    return true;
                }
            }

            window = default;
            contents = default!;
            return false;
        }

        private void RemoveWindow(long end)
        {
            if (_windows is not null)
            {
                _windows.Remove(end);
            }
            else if (_sessions!.Remove(end))
            {
                _starts!.Remove(end);
            }
        }

        /// <summary>The next timer the watermark has passed, its key current.</summary>
        private bool NextDueTimer(out long timestamp)
        {
            if (_timers is not null)
            {
                return _timers.TryFireEventTime(out timestamp);
            }

            if (_derivedTimers!.TryDequeue(_watermark, out timestamp, out int keyGroup, out TKey key))
            {
                _table.Select(keyGroup, in key);
                return true;
            }

            return false;
        }

        private void RegisterTimers(TimeWindow window)
        {
            if (_derivedTimers is not null)
            {
                // Called once per window, when it opens: no duplicates to guard against.
                _derivedTimers.Enqueue(window.MaxTimestamp, _table.CurrentKeyGroup, _table.CurrentKey);
                return;
            }

            _timers!.RegisterEventTimeTimer(window.MaxTimestamp);
            if (_allowedLateness > 0)
            {
                _timers.RegisterEventTimeTimer(window.MaxTimestamp + _allowedLateness);
            }
        }

        /// <summary>After a restore: every open window is due at its last millisecond.</summary>
        private void RebuildDerivedTimers()
        {
            _derivedTimers!.Clear();
            var due = new List<(long Timestamp, int KeyGroup, TKey Key)>();
            _table.ForEachKey(_table.KeyGroups, (keyGroup, key) =>
            {
                foreach (long end in _windows!.Ends())
                {
                    due.Add((end - 1, keyGroup, key));
                }
            });

            foreach ((long timestamp, int keyGroup, TKey key) in due)
            {
                _derivedTimers.Enqueue(timestamp, keyGroup, key);
            }
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private void ThrowNoTimestamp() => throw new InvalidOperationException(
            $"Window operator '{_operatorId}' received a record without an event-time timestamp. " +
            "Assign timestamps and watermarks upstream (AssignTimestampsAndWatermarks, or a source with a watermark strategy).");
    }
}
