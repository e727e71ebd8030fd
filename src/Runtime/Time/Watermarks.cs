using System;
using System.ComponentModel;
using System.Runtime.CompilerServices;

namespace Weir.Time
{
    /// <summary>Event-time constants.</summary>
    public static class Watermarks
    {
        /// <summary>The timestamp of a record that has none, and the watermark before the first one.</summary>
        public const long NoTimestamp = long.MinValue;

        /// <summary>The watermark a bounded input sends at its end: every event-time timer and window fires.</summary>
        public const long EndOfTime = long.MaxValue;

        /// <summary>How often watermark generators emit periodic watermarks (Flink's default auto-watermark interval).</summary>
        public static readonly TimeSpan PeriodicInterval = TimeSpan.FromMilliseconds(200);
    }
}

namespace Weir
{
    using Weir.Time;

    /// <summary>
    /// Generates watermarks from the timestamps of a stream's records (Flink's WatermarkGenerator).
    /// Implement it on a struct: the generated code holds it by value and calls it directly.
    /// </summary>
    public interface IWatermarkGenerator<T>
    {
        /// <summary>
        /// Sees each record and its timestamp. Returns a watermark to emit now (a punctuated generator),
        /// or <see cref="Watermarks.NoTimestamp"/> for none.
        /// </summary>
        long OnEvent(in T record, long timestamp);

        /// <summary>Called periodically (every 200 ms of processing time): the watermark to emit now, or <see cref="Watermarks.NoTimestamp"/>.</summary>
        long OnPeriodicEmit();
    }

    /// <summary>
    /// Watermarks that trail the largest timestamp seen by a fixed delay (Flink's
    /// BoundedOutOfOrdernessWatermarks): a record may arrive up to that delay after a later one and
    /// still be on time. The watermark is <c>max - delay - 1</c>. Emitted periodically (every 200 ms of
    /// processing time) and, with an event-time step, also as soon as the data has advanced it by that
    /// step: then which records are late depends only on the order of the input, not on how fast it is
    /// read (reproducible runs over files).
    /// </summary>
    public struct BoundedOutOfOrdernessWatermarks<T> : IWatermarkGenerator<T>
    {
        private readonly long _delay;
        private readonly long _step;
        private long _max;
        private long _emitted;

        /// <summary>Creates a generator allowing records up to <paramref name="delayMilliseconds"/> out of order.</summary>
        /// <param name="delayMilliseconds">The bounded out-of-orderness.</param>
        /// <param name="eventTimeStep">Also emit on a record once the watermark has advanced this much (milliseconds); 0: periodically only.</param>
        public BoundedOutOfOrdernessWatermarks(long delayMilliseconds, long eventTimeStep = 0)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(delayMilliseconds);
            ArgumentOutOfRangeException.ThrowIfNegative(eventTimeStep);
            _delay = delayMilliseconds;
            _step = eventTimeStep == 0 ? long.MaxValue : eventTimeStep;

            // So that the first periodic watermark, before any record, does not underflow.
            _max = long.MinValue + delayMilliseconds + 1;
            _emitted = Watermarks.NoTimestamp;
        }

        /// <inheritdoc/>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public long OnEvent(in T record, long timestamp)
        {
            if (timestamp > _max)
            {
                _max = timestamp;
                long watermark = timestamp - _delay - 1;
                if (watermark - _emitted >= _step || (_emitted == Watermarks.NoTimestamp && _step != long.MaxValue))
                {
                    _emitted = watermark;
                    return watermark;
                }
            }

            return Watermarks.NoTimestamp;
        }

        /// <inheritdoc/>
        public readonly long OnPeriodicEmit() => _max - _delay - 1;
    }

    /// <summary>
    /// How a stream's watermarks are generated (Flink's WatermarkStrategy): a generator, copied for each
    /// subtask, and an optional idleness timeout.
    /// </summary>
    /// <typeparam name="T">The stream's records.</typeparam>
    /// <typeparam name="TGenerator">The generator, a struct called directly.</typeparam>
    public sealed class WatermarkStrategy<T, TGenerator>
        where TGenerator : struct, IWatermarkGenerator<T>
    {
        internal WatermarkStrategy(TGenerator generator, TimeSpan? idleness)
        {
            Generator = generator;
            Idleness = idleness;
        }

        /// <summary>The generator each subtask starts from.</summary>
        public TGenerator Generator { get; }

        /// <summary>
        /// After this much processing time without records, the stream is marked idle and no longer
        /// holds back event time downstream (Flink's withIdleness); null: never.
        /// </summary>
        public TimeSpan? Idleness { get; }

        /// <summary>Marks the stream idle after <paramref name="timeout"/> without records.</summary>
        public WatermarkStrategy<T, TGenerator> WithIdleness(TimeSpan timeout)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
            return new(Generator, timeout);
        }

        /// <summary>Creates the state of one subtask (called by generated code).</summary>
        [EditorBrowsable(EditorBrowsableState.Never)]
        public WatermarkAssigner<T, TGenerator> CreateAssigner() => new(Generator, Idleness, splits: null);

        /// <summary>
        /// Creates the state of one subtask (called by generated code); in a chain that starts at a
        /// source, <paramref name="splits"/> are the source's splits and each gets its own generator.
        /// </summary>
        [EditorBrowsable(EditorBrowsableState.Never)]
        public WatermarkAssigner<T, TGenerator> CreateAssigner(Connectors.SourceSplits? splits) => new(Generator, Idleness, splits);
    }

    /// <summary>Creates watermark strategies.</summary>
    public static class WatermarkStrategy
    {
        /// <summary>Records may arrive up to <paramref name="maxOutOfOrderness"/> after a later record.</summary>
        public static WatermarkStrategy<T, BoundedOutOfOrdernessWatermarks<T>> ForBoundedOutOfOrderness<T>(TimeSpan maxOutOfOrderness)
            => new(new BoundedOutOfOrdernessWatermarks<T>((long)maxOutOfOrderness.TotalMilliseconds), null);

        /// <summary>
        /// Records may arrive up to <paramref name="maxOutOfOrderness"/> after a later record; besides the
        /// periodic watermarks, one is emitted whenever the data has advanced event time by
        /// <paramref name="eventTimeStep"/>, so lateness is decided by the input's order alone.
        /// </summary>
        public static WatermarkStrategy<T, BoundedOutOfOrdernessWatermarks<T>> ForBoundedOutOfOrderness<T>(TimeSpan maxOutOfOrderness, TimeSpan eventTimeStep)
            => new(new BoundedOutOfOrdernessWatermarks<T>((long)maxOutOfOrderness.TotalMilliseconds, Math.Max(1, (long)eventTimeStep.TotalMilliseconds)), null);

        /// <summary>Timestamps never decrease (Flink's forMonotonousTimestamps): the watermark is the largest timestamp seen, minus one.</summary>
        public static WatermarkStrategy<T, BoundedOutOfOrdernessWatermarks<T>> ForMonotonousTimestamps<T>()
            => new(new BoundedOutOfOrdernessWatermarks<T>(0), null);

        /// <summary>A custom generator (periodic, punctuated or both), copied for each subtask.</summary>
        public static WatermarkStrategy<T, TGenerator> ForGenerator<T, TGenerator>(TGenerator generator)
            where TGenerator : struct, IWatermarkGenerator<T>
            => new(generator, null);
    }
}
