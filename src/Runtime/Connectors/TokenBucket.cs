using System;

namespace Weir.Connectors
{
    /// <summary>
    /// A token bucket that holds a source subtask to a rate: tokens accrue at <see cref="RatePerSecond"/>
    /// from the time provider's timestamps (a <see cref="System.Diagnostics.Stopwatch"/> by default) up
    /// to <see cref="Capacity"/>, and each record takes one. Accrual is computed from the elapsed
    /// timestamp ticks since the last refill, never from how long a sleep lasted, so the rate does not
    /// drift however late the caller comes back. The bucket starts full.
    /// </summary>
    internal sealed class TokenBucket
    {
        /// <summary>The burst, in seconds of rate, the bucket can hold (at least one token).</summary>
        public const double BurstSeconds = 0.1;

        private readonly TimeProvider _time;
        private readonly double _tokensPerTick;
        private double _tokens;
        private long _lastRefill;

        /// <summary>Creates a full bucket.</summary>
        public TokenBucket(double ratePerSecond, TimeProvider? time = null)
        {
            if (!(ratePerSecond > 0) || double.IsInfinity(ratePerSecond))
            {
                throw new ArgumentOutOfRangeException(nameof(ratePerSecond), ratePerSecond, "A rate must be a positive, finite number of records per second.");
            }

            _time = time ?? TimeProvider.System;
            RatePerSecond = ratePerSecond;
            Capacity = Math.Max(1, ratePerSecond * BurstSeconds);
            _tokensPerTick = ratePerSecond / _time.TimestampFrequency;
            _tokens = Capacity;
            _lastRefill = _time.GetTimestamp();
        }

        /// <summary>Records per second.</summary>
        public double RatePerSecond { get; }

        /// <summary>The most tokens the bucket holds.</summary>
        public double Capacity { get; }

        /// <summary>Takes up to <paramref name="wanted"/> whole tokens; returns how many were taken (0 when empty).</summary>
        public int TryTake(int wanted)
        {
            Refill();
            int taken = (int)Math.Min(wanted, Math.Floor(_tokens));
            _tokens -= taken;
            return taken;
        }

        /// <summary>Gives back tokens taken but not used (the input ended first).</summary>
        public void Return(int tokens) => _tokens = Math.Min(Capacity, _tokens + tokens);

        /// <summary>How long until one whole token is available (zero when one is).</summary>
        public TimeSpan TimeUntilNextToken()
        {
            Refill();
            double missing = 1 - _tokens;
            return missing <= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(missing / RatePerSecond);
        }

        private void Refill()
        {
            long now = _time.GetTimestamp();
            long elapsed = now - _lastRefill;
            if (elapsed <= 0)
            {
                return;
            }

            _lastRefill = now;
            _tokens = Math.Min(Capacity, _tokens + (elapsed * _tokensPerTick));
        }
    }
}
