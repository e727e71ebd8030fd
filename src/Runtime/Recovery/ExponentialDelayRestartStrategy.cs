using System;
using Weir.Hosting;

namespace Weir.Recovery
{
    /// <summary>
    /// The <c>exponential-delay</c> strategy. The n-th restart since the last reset waits
    /// min(initial × multiplier^(n-1), max), moved by a uniformly drawn ±jitter fraction of itself (jitter is
    /// applied after the cap, so a delay can exceed max by up to the jitter fraction). A run that lasted at least
    /// the reset threshold starts the backoff and the attempt count over; more than
    /// <see cref="ExponentialDelayRestartOptions.AttemptsBeforeReset"/> failures without such a run fail the job.
    /// </summary>
    internal sealed class ExponentialDelayRestartStrategy : RestartStrategy
    {
        private readonly ExponentialDelayRestartOptions _options;
        private readonly Random _random;

        /// <summary>The delay (before jitter) the next restart waits.</summary>
        private TimeSpan _nextBackoff;

        /// <summary>Failures since the last reset (or the start).</summary>
        private int _attemptsSinceReset;

        public ExponentialDelayRestartStrategy(ExponentialDelayRestartOptions options, Random random)
        {
            _options = options;
            _random = random;
            _nextBackoff = options.InitialBackoff;
        }

        public override RestartStrategyOptions Options => _options;

        private protected override RestartDecision Decide(Exception failure, TimeSpan runDuration)
        {
            // The run duration, not the time since the previous failure, decides: the restart delay
            // itself must not count as healthy running, or a long backoff would reset itself.
            if (runDuration >= _options.ResetBackoffThreshold)
            {
                _nextBackoff = _options.InitialBackoff;
                _attemptsSinceReset = 0;
            }

            _attemptsSinceReset++;
            if (_attemptsSinceReset > _options.AttemptsBeforeReset)
            {
                return RestartDecision.GiveUp(
                    $"restart strategy exponential-delay allows {Attempts(_options.AttemptsBeforeReset)} without a run of at least "
                    + $"{Duration.Format(_options.ResetBackoffThreshold)} in between; the job failed {Times(_attemptsSinceReset)} in a row; {LastFailure(failure)}");
            }

            TimeSpan backoff = _nextBackoff;
            // Grow in double and compare before converting: multiplying a long backoff can exceed what a
            // TimeSpan holds, and the cap must win before that happens.
            double grown = backoff.Ticks * _options.Multiplier;
            _nextBackoff = grown >= _options.MaxBackoff.Ticks ? _options.MaxBackoff : TimeSpan.FromTicks((long)grown);

            return RestartDecision.RestartAfter(Jittered(backoff));
        }

        /// <summary>backoff × (1 + u × jitter) with u uniform in [-1, 1).</summary>
        private TimeSpan Jittered(TimeSpan backoff)
        {
            if (_options.JitterFactor == 0)
            {
                return backoff;
            }

            double offset = (_random.NextDouble() * 2 - 1) * _options.JitterFactor;
            double ticks = backoff.Ticks * (1 + offset);
            return ticks >= TimeSpan.MaxValue.Ticks ? TimeSpan.MaxValue : TimeSpan.FromTicks((long)ticks);
        }
    }
}
