using System;
using System.Collections.Generic;
using System.Threading;
using Weir.Checkpointing.Coordinator;
using Weir.Hosting;

namespace Weir.Recovery
{
    /// <summary>
    /// When a subtask that has been inside one call of user code (one batch) for longer than
    /// <see cref="Timeout"/> counts as failed: a call that never returns otherwise hangs the job
    /// forever, since nothing else ever fails it. A watchdog checks every <see cref="CheckInterval"/>,
    /// so a stall is reported between <see cref="Timeout"/> and <see cref="Timeout"/> + <see cref="CheckInterval"/> after it began.
    /// </summary>
    public sealed record StallDetectionOptions
    {
        /// <summary>Off: no subtask is ever failed for being slow. The default, because a legitimately slow call (a large external lookup) is not a failure unless the user says how slow is too slow.</summary>
        public static StallDetectionOptions Disabled { get; } = new() { Timeout = System.Threading.Timeout.InfiniteTimeSpan, CheckInterval = System.Threading.Timeout.InfiniteTimeSpan };

        /// <summary>
        /// Stall detection after <paramref name="timeout"/>, checked every quarter of it (so at most 25% late)
        /// but at least every 10 s, so that a long timeout is not overshot by minutes.
        /// </summary>
        /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is not positive.</exception>
        public static StallDetectionOptions After(TimeSpan timeout)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
            TimeSpan quarter = timeout / 4;
            return new StallDetectionOptions
            {
                Timeout = timeout,
                CheckInterval = quarter < TimeSpan.FromSeconds(10) ? quarter : TimeSpan.FromSeconds(10),
            };
        }

        /// <summary>How long one call may run before the subtask counts as failed; <see cref="System.Threading.Timeout.InfiniteTimeSpan"/> when disabled.</summary>
        public required TimeSpan Timeout { get; init; }

        /// <summary>How often the watchdog calls <see cref="SubtaskProgress.FindStalled"/>.</summary>
        public required TimeSpan CheckInterval { get; init; }

        /// <summary>False for <see cref="Disabled"/> (an infinite timeout): no watchdog is needed.</summary>
        public bool Enabled => Timeout != System.Threading.Timeout.InfiniteTimeSpan;
    }

    /// <summary>A subtask found inside one call for too long.</summary>
    /// <param name="Subtask">Which subtask.</param>
    /// <param name="BusySince">When it entered the call, as a <see cref="TimeProvider.GetTimestamp"/> value of the tracker's clock.</param>
    /// <param name="BusyFor">How long it had been inside the call when found.</param>
    public readonly record struct StalledSubtask(SubtaskId Subtask, long BusySince, TimeSpan BusyFor);

    /// <summary>The failure the executor reports for a stalled subtask; its message says what to do about it.</summary>
    public sealed class SubtaskStalledException : Exception
    {
        /// <summary>A failure for <paramref name="stalled"/>, found with <paramref name="timeout"/>.</summary>
        public SubtaskStalledException(StalledSubtask stalled, TimeSpan timeout)
            : base($"{stalled.Subtask} has been inside one call of user code for {Duration.Format(stalled.BusyFor)} "
                + $"(the stall timeout is {Duration.Format(timeout)}), so it counts as failed. If the call is legitimately "
                + "this slow, raise the stall timeout; otherwise a thread dump shows where it is stuck.")
        {
            Stalled = stalled;
            Timeout = timeout;
        }

        /// <summary>The stalled subtask.</summary>
        public StalledSubtask Stalled { get; }

        /// <summary>The timeout it exceeded.</summary>
        public TimeSpan Timeout { get; }
    }

    /// <summary>
    /// Where each subtask is: idle, or inside a batch since a timestamp. Subtask threads write their own
    /// slot with <see cref="EnterBatch"/> and <see cref="LeaveBatch"/> (one volatile store of a long each:
    /// no lock, no allocation, no interlocked operation); a watchdog thread reads all slots with
    /// <see cref="FindStalled"/>. Each slot is one writer, many readers, so plain volatile stores suffice.
    /// </summary>
    public sealed class SubtaskProgress
    {
        /// <summary>
        /// Longs between two subtasks' slots: 16 × 8 = 128 bytes, so that each slot sits on its own cache
        /// line (pair, for adjacent-line prefetch) and one subtask's stores do not invalidate another's line.
        /// </summary>
        private const int Stride = 16;

        /// <summary>The slot value of an idle subtask. No real timestamp is this small.</summary>
        private const long Idle = long.MinValue;

        private readonly long[] _busySince;
        private readonly SubtaskId[] _subtasks;
        private readonly TimeProvider _clock;

        /// <summary>A tracker for <paramref name="subtasks"/>; slot i belongs to subtasks[i]. All start idle.</summary>
        /// <param name="subtasks">The job's subtasks, each once.</param>
        /// <param name="clock">The time source for busy-since stamps and for <see cref="Now"/>; <see cref="TimeProvider.System"/> if null.</param>
        public SubtaskProgress(IReadOnlyList<SubtaskId> subtasks, TimeProvider? clock = null)
        {
            ArgumentNullException.ThrowIfNull(subtasks);
            _subtasks = new SubtaskId[subtasks.Count];
            for (int i = 0; i < _subtasks.Length; i++)
            {
                if (Array.IndexOf(_subtasks, subtasks[i], 0, i) >= 0)
                {
                    throw new ArgumentException($"{subtasks[i]} is listed twice.", nameof(subtasks));
                }

                _subtasks[i] = subtasks[i];
            }

            _busySince = new long[Math.Max(1, _subtasks.Length) * Stride];
            for (int i = 0; i < _subtasks.Length; i++)
            {
                _busySince[i * Stride] = Idle;
            }

            _clock = clock ?? TimeProvider.System;
        }

        /// <summary>How many subtasks are tracked.</summary>
        public int Count => _subtasks.Length;

        /// <summary>The current timestamp of the tracker's clock, for <see cref="FindStalled"/>.</summary>
        public long Now => _clock.GetTimestamp();

        /// <summary>The slot of <paramref name="subtask"/>, to look up once when the subtask starts.</summary>
        /// <exception cref="ArgumentException">The subtask is not tracked.</exception>
        public int SlotOf(SubtaskId subtask)
        {
            int slot = Array.IndexOf(_subtasks, subtask);
            return slot >= 0 ? slot : throw new ArgumentException($"{subtask} is not tracked.", nameof(subtask));
        }

        /// <summary>The subtask in <paramref name="slot"/> enters a batch (a call into user code) now. Called only by that subtask's thread.</summary>
        public void EnterBatch(int slot) => Volatile.Write(ref _busySince[slot * Stride], _clock.GetTimestamp());

        /// <summary>The subtask in <paramref name="slot"/> left its batch: it is idle (waiting for input) and cannot be stalled.</summary>
        public void LeaveBatch(int slot) => Volatile.Write(ref _busySince[slot * Stride], Idle);

        /// <summary>
        /// The subtask that has been inside one batch the longest, if that is at least <paramref name="timeout"/>
        /// as of <paramref name="now"/> (a timestamp of the tracker's clock, e.g. <see cref="Now"/>); null if none.
        /// Safe to call from any thread while subtasks run; allocates nothing.
        /// </summary>
        public StalledSubtask? FindStalled(long now, TimeSpan timeout)
        {
            StalledSubtask? longest = null;
            for (int slot = 0; slot < _subtasks.Length; slot++)
            {
                long since = Volatile.Read(ref _busySince[slot * Stride]);
                if (since == Idle)
                {
                    continue;
                }

                // A subtask may stamp a time after the watchdog read its clock: that elapsed time is
                // negative and well below any timeout, so it needs no special case.
                TimeSpan busyFor = _clock.GetElapsedTime(since, now);
                if (busyFor >= timeout && (longest is null || busyFor > longest.Value.BusyFor))
                {
                    longest = new StalledSubtask(_subtasks[slot], since, busyFor);
                }
            }

            return longest;
        }
    }
}
