using System;

namespace Weir
{
    /// <summary>A window of event time: <c>[Start, End)</c> in Unix milliseconds.</summary>
    public readonly record struct TimeWindow(long Start, long End)
    {
        /// <summary>The largest timestamp inside the window; its results carry this timestamp.</summary>
        public long MaxTimestamp => End - 1;

        /// <summary>Whether two windows overlap or touch (sessions that touch merge, as in Flink).</summary>
        public bool Intersects(TimeWindow other) => Start <= other.End && End >= other.Start;

        /// <summary>The smallest window covering both.</summary>
        public TimeWindow Cover(TimeWindow other) => new(Math.Min(Start, other.Start), Math.Max(End, other.End));

        /// <summary>The start of the window of size <paramref name="size"/> (aligned to <paramref name="offset"/>) holding <paramref name="timestamp"/>.</summary>
        public static long StartOf(long timestamp, long offset, long size)
        {
            long remainder = (timestamp - offset) % size;
            return remainder < 0 ? timestamp - (remainder + size) : timestamp - remainder;
        }
    }

    /// <summary>
    /// Assigns a record's timestamp to event-time windows (Flink's WindowAssigner). Implemented by
    /// structs, held by value in the window operator and called directly.
    /// </summary>
    public interface IWindowAssigner
    {
        /// <summary>Whether windows of one key merge when they overlap (sessions).</summary>
        bool IsMerging { get; }

        /// <summary>The most windows one record can belong to.</summary>
        int MaxWindowsPerRecord { get; }

        /// <summary>The windows' size in milliseconds (0 for merging windows, whose size varies).</summary>
        long Size { get; }

        /// <summary>Writes the windows holding <paramref name="timestamp"/> to <paramref name="windows"/>; returns how many.</summary>
        int AssignWindows(long timestamp, Span<TimeWindow> windows);
    }

    /// <summary>Fixed-size, non-overlapping windows aligned to the epoch (plus an offset).</summary>
    public readonly struct TumblingWindows : IWindowAssigner
    {
        private readonly long _size;
        private readonly long _offset;

        internal TumblingWindows(long size, long offset)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(size, 0);
            _size = size;
            _offset = ((offset % size) + size) % size;
        }

        /// <inheritdoc/>
        public bool IsMerging => false;

        /// <inheritdoc/>
        public int MaxWindowsPerRecord => 1;

        /// <inheritdoc/>
        public long Size => _size;

        /// <inheritdoc/>
        public int AssignWindows(long timestamp, Span<TimeWindow> windows)
        {
            long start = TimeWindow.StartOf(timestamp, _offset, _size);
            windows[0] = new TimeWindow(start, start + _size);
            return 1;
        }
    }

    /// <summary>Fixed-size windows starting every <c>slide</c>: a record belongs to <c>size / slide</c> of them.</summary>
    public readonly struct SlidingWindows : IWindowAssigner
    {
        private readonly long _size;
        private readonly long _slide;
        private readonly long _offset;

        internal SlidingWindows(long size, long slide, long offset)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(size, 0);
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(slide, 0);
            _size = size;
            _slide = slide;
            _offset = ((offset % slide) + slide) % slide;
        }

        /// <inheritdoc/>
        public bool IsMerging => false;

        /// <inheritdoc/>
        public int MaxWindowsPerRecord => (int)((_size + _slide - 1) / _slide);

        /// <inheritdoc/>
        public long Size => _size;

        /// <inheritdoc/>
        public int AssignWindows(long timestamp, Span<TimeWindow> windows)
        {
            int count = 0;
            long lastStart = TimeWindow.StartOf(timestamp, _offset, _slide);
            for (long start = lastStart; start > timestamp - _size; start -= _slide)
            {
                windows[count++] = new TimeWindow(start, start + _size);
            }

            return count;
        }
    }

    /// <summary>
    /// Per-key sessions: a record opens <c>[timestamp, timestamp + gap)</c>, and overlapping sessions of
    /// a key merge, so a session ends after <c>gap</c> without records.
    /// </summary>
    public readonly struct SessionWindows : IWindowAssigner
    {
        private readonly long _gap;

        internal SessionWindows(long gap)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(gap, 0);
            _gap = gap;
        }

        /// <inheritdoc/>
        public bool IsMerging => true;

        /// <inheritdoc/>
        public int MaxWindowsPerRecord => 1;

        /// <inheritdoc/>
        public long Size => 0;

        /// <inheritdoc/>
        public int AssignWindows(long timestamp, Span<TimeWindow> windows)
        {
            windows[0] = new TimeWindow(timestamp, timestamp + _gap);
            return 1;
        }
    }

    /// <summary>Creates event-time window assigners.</summary>
    public static class Windows
    {
        /// <summary>Tumbling windows of <paramref name="size"/>, aligned to the epoch plus <paramref name="offset"/>.</summary>
        public static TumblingWindows Tumbling(TimeSpan size, TimeSpan offset = default)
            => new((long)size.TotalMilliseconds, (long)offset.TotalMilliseconds);

        /// <summary>Sliding windows of <paramref name="size"/>, one starting every <paramref name="slide"/>.</summary>
        public static SlidingWindows Sliding(TimeSpan size, TimeSpan slide, TimeSpan offset = default)
            => new((long)size.TotalMilliseconds, (long)slide.TotalMilliseconds, (long)offset.TotalMilliseconds);

        /// <summary>Session windows closing after <paramref name="gap"/> without records of the key.</summary>
        public static SessionWindows Session(TimeSpan gap) => new((long)gap.TotalMilliseconds);
    }
}
