using System;
using System.ComponentModel;
using System.Runtime.CompilerServices;
using Weir.Connectors;
using Weir.Time;

namespace Weir
{
    /// <summary>
    /// The watermark state of one subtask of a timestamp assigner: the generator, the watermark
    /// emitted last (watermarks never go backwards) and idleness. In a chain that starts at a source
    /// whose reader reports its splits, one generator per split: the subtask's watermark is the
    /// minimum over the splits that are neither finished nor idle (Flink's per-split watermarks).
    /// Used by generated code.
    /// </summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public sealed class WatermarkAssigner<T, TGenerator>
        where TGenerator : struct, IWatermarkGenerator<T>
    {
        /// <summary><see cref="Poll"/>: the watermark advanced (see <see cref="Current"/>).</summary>
        public const int Advanced = 1;

        /// <summary><see cref="Poll"/>: the stream became idle.</summary>
        public const int BecameIdle = 2;

        private readonly TGenerator _initial;
        private readonly long _idleAfter;
        private readonly SourceSplits? _splits;

        // The stream as a whole: its generator when the source reports no splits, and its idleness.
        private TGenerator _generator;
        private long _current = Watermarks.NoTimestamp;
        private bool _sawRecord;
        private long _lastRecordTime = long.MinValue;

        // One timeline per split of the source, indexed like the splits.
        private SplitTimeline[] _timelines = Array.Empty<SplitTimeline>();
        private int _synchronizedVersion = -1;
        private int _lastSplit = -1;

        internal WatermarkAssigner(TGenerator generator, TimeSpan? idleness, SourceSplits? splits)
        {
            _initial = generator;
            _generator = generator;
            _idleAfter = idleness is { } timeout ? (long)timeout.TotalMilliseconds : long.MaxValue;
            _splits = splits;
        }

        /// <summary>The watermark emitted last.</summary>
        public long Current => _current;

        /// <summary>Whether the stream is marked idle; the next record makes it active again.</summary>
        public bool IsIdle { get; private set; }

        /// <summary>The stream is active again (called before a record when <see cref="IsIdle"/>).</summary>
        public void MarkActive() => IsIdle = false;

        /// <summary>Sees a record; true when a punctuated watermark advanced <see cref="Current"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool OnEvent(in T record, long timestamp)
        {
            _sawRecord = true;
            if (_splits is { Count: > 0 } splits)
            {
                return OnSplitEvent(splits, in record, timestamp);
            }

            long watermark = _generator.OnEvent(in record, timestamp);
            if (watermark > _current)
            {
                _current = watermark;
                return true;
            }

            return false;
        }

        /// <summary>
        /// Periodic emission at processing time <paramref name="now"/> (Unix milliseconds): returns
        /// <see cref="Advanced"/> and/or <see cref="BecameIdle"/>.
        /// </summary>
        public int Poll(long now)
        {
            int changes = 0;
            if (_sawRecord || _lastRecordTime == long.MinValue)
            {
                _sawRecord = false;
                _lastRecordTime = now;
            }
            else if (!IsIdle && now - _lastRecordTime >= _idleAfter)
            {
                IsIdle = true;
                changes |= BecameIdle;
            }

            if (_splits is { Count: > 0 } splits)
            {
                return changes | PollSplits(splits, now);
            }

            if (!IsIdle)
            {
                long watermark = _generator.OnPeriodicEmit();
                if (watermark > _current)
                {
                    _current = watermark;
                    changes |= Advanced;
                }
            }

            return changes;
        }

        /// <summary>The input ended: event time jumps to its end, so every window fires.</summary>
        public void EndOfInput() => _current = Watermarks.EndOfTime;

        private bool OnSplitEvent(SourceSplits splits, in T record, long timestamp)
        {
            int split = splits.Current;
            bool advanced = false;
            if (split != _lastSplit || splits.Version != _synchronizedVersion)
            {
                // Another split, or one finished: the minimum may have moved without a new watermark.
                Synchronize(splits);
                _lastSplit = split;
                advanced = Combine();
            }

            ref SplitTimeline timeline = ref _timelines[split];
            timeline.SawRecord = true;
            timeline.Started = true;
            if (timeline.Idle)
            {
                // Back from idleness: it holds event time again (downstream never goes backwards).
                timeline.Idle = false;
            }

            long watermark = timeline.Generator.OnEvent(in record, timestamp);
            if (watermark > timeline.Watermark)
            {
                timeline.Watermark = watermark;
                advanced |= Combine();
            }

            return advanced;
        }

        private int PollSplits(SourceSplits splits, long now)
        {
            if (splits.Version != _synchronizedVersion)
            {
                Synchronize(splits);
            }

            for (int i = 0; i < _timelines.Length; i++)
            {
                ref SplitTimeline timeline = ref _timelines[i];
                if (timeline.Finished)
                {
                    continue;
                }

                if (timeline.SawRecord || timeline.LastActive == long.MinValue)
                {
                    timeline.SawRecord = false;
                    timeline.LastActive = now;
                }
                else if (!timeline.Idle && (timeline.Started || !splits.ReadsInOrder) && now - timeline.LastActive >= _idleAfter)
                {
                    // A split that has not started in a reader that reads in order waits for its turn,
                    // not for data: it is never idle, or its records would arrive behind the watermark.
                    timeline.Idle = true;
                }

                if (!timeline.Idle)
                {
                    long watermark = timeline.Generator.OnPeriodicEmit();
                    if (watermark > timeline.Watermark)
                    {
                        timeline.Watermark = watermark;
                    }
                }
            }

            return !IsIdle && Combine() ? Advanced : 0;
        }

        /// <summary>Matches the timelines to the splits the reader registered (a restored reader registers anew).</summary>
        private void Synchronize(SourceSplits splits)
        {
            if (_timelines.Length != splits.Count)
            {
                Array.Resize(ref _timelines, splits.Count);
            }

            for (int i = 0; i < _timelines.Length; i++)
            {
                ref SplitTimeline timeline = ref _timelines[i];
                string name = splits.NameOf(i);
                if (!string.Equals(timeline.Name, name, StringComparison.Ordinal))
                {
                    timeline = new SplitTimeline(name, _initial);
                }

                timeline.Finished = splits.IsFinished(i);
            }

            _synchronizedVersion = splits.Version;
        }

        /// <summary>Advances <see cref="Current"/> to the minimum over the splits that hold event time; true if it moved.</summary>
        private bool Combine()
        {
            long minimum = long.MaxValue;
            bool anyHolding = false;
            foreach (ref readonly SplitTimeline timeline in _timelines.AsSpan())
            {
                if (timeline.Finished || timeline.Idle)
                {
                    continue;
                }

                anyHolding = true;
                if (timeline.Watermark < minimum)
                {
                    minimum = timeline.Watermark;
                }
            }

            // With every split finished or idle, nothing says how far event time has come: the
            // end of input (or the stream's idleness) speaks for them instead.
            if (anyHolding && minimum > _current)
            {
                _current = minimum;
                return true;
            }

            return false;
        }

        private struct SplitTimeline
        {
            public SplitTimeline(string name, TGenerator generator)
            {
                Name = name;
                Generator = generator;
                Watermark = Watermarks.NoTimestamp;
                LastActive = long.MinValue;
            }

            public string? Name;
            public TGenerator Generator;
            public long Watermark;
            public long LastActive;
            public bool SawRecord;
            public bool Started;
            public bool Idle;
            public bool Finished;
        }
    }
}
