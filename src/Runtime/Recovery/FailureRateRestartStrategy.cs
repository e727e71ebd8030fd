using System;
using System.Collections.Generic;
using Weir.Hosting;

namespace Weir.Recovery
{
    /// <summary>
    /// The <c>failure-rate</c> strategy: restarts while the failures within the last
    /// <see cref="FailureRateRestartOptions.Interval"/> (this one included) number at most
    /// <see cref="FailureRateRestartOptions.MaxFailures"/>. Note the count: with max-failures=3 the
    /// fourth failure within an interval fails the job. Flink's FailureRateRestartBackoffTimeStrategy gives
    /// up at the third already (its queue of N timestamps is full on the N-th failure, and its test expects
    /// no restart after N failures); we take the setting's name at its word.
    /// </summary>
    internal sealed class FailureRateRestartStrategy : RestartStrategy
    {
        private readonly FailureRateRestartOptions _options;
        private readonly TimeProvider _clock;

        /// <summary>Monotonic timestamps (<see cref="TimeProvider.GetTimestamp"/>) of the failures still inside the window, oldest first.</summary>
        private readonly Queue<long> _recentFailures = new();

        public FailureRateRestartStrategy(FailureRateRestartOptions options, TimeProvider clock)
        {
            _options = options;
            _clock = clock;
        }

        public override RestartStrategyOptions Options => _options;

        private protected override RestartDecision Decide(Exception failure, TimeSpan runDuration)
        {
            // The monotonic timestamp, not the wall clock: a clock adjustment must not empty or fill the window.
            long now = _clock.GetTimestamp();
            while (_recentFailures.Count > 0 && _clock.GetElapsedTime(_recentFailures.Peek(), now) >= _options.Interval)
            {
                _recentFailures.Dequeue();
            }

            _recentFailures.Enqueue(now);
            if (_recentFailures.Count > _options.MaxFailures)
            {
                TimeSpan span = _clock.GetElapsedTime(_recentFailures.Peek(), now);
                return RestartDecision.GiveUp(
                    $"restart strategy failure-rate allows {_options.MaxFailures} failures per {Duration.Format(_options.Interval)}; "
                    + $"the job failed {Times(_recentFailures.Count)} within {Duration.Format(span)}; {LastFailure(failure)}");
            }

            return RestartDecision.RestartAfter(_options.Delay);
        }
    }
}
