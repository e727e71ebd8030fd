using System;

namespace Weir.Recovery
{
    /// <summary>What a <see cref="RestartStrategy"/> decided about one failure: restart after <see cref="Delay"/>, or give up for <see cref="GiveUpReason"/>.</summary>
    public readonly record struct RestartDecision
    {
        private RestartDecision(bool restart, TimeSpan delay, string? giveUpReason)
        {
            Restart = restart;
            Delay = delay;
            GiveUpReason = giveUpReason;
        }

        /// <summary>True to restart the job once <see cref="Delay"/> has passed; false to fail it.</summary>
        public bool Restart { get; }

        /// <summary>How long to wait before restarting (zero when giving up). The caller waits; the strategy never sleeps.</summary>
        public TimeSpan Delay { get; }

        /// <summary>
        /// Why the job fails, for the user: which strategy, what it allows, what happened and the last
        /// failure, e.g. "restart strategy fixed-delay allows 3 restarts; the job failed 4 times; last failure: ...".
        /// Null when restarting.
        /// </summary>
        public string? GiveUpReason { get; }

        /// <summary>Restart after <paramref name="delay"/>.</summary>
        public static RestartDecision RestartAfter(TimeSpan delay) => new(true, delay, null);

        /// <summary>Fail the job for <paramref name="reason"/>.</summary>
        public static RestartDecision GiveUp(string reason) => new(false, TimeSpan.Zero, reason);

        /// <summary>"restart after 10s" or "give up: ...".</summary>
        public override string ToString() => Restart ? $"restart after {Hosting.Duration.Format(Delay)}" : $"give up: {GiveUpReason}";
    }
}
