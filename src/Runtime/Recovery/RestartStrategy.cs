using System;

namespace Weir.Recovery
{
    /// <summary>
    /// Decides, failure by failure, whether a job restarts and after how long. One instance follows one
    /// job for its whole life (across restarts) and remembers the failures it has seen. It never sleeps
    /// or schedules: the caller waits <see cref="RestartDecision.Delay"/>. Not thread-safe: the one thread
    /// that handles job failures calls it. Made by <see cref="RestartStrategyOptions.CreateStrategy"/>.
    /// </summary>
    public abstract class RestartStrategy
    {
        private protected RestartStrategy()
        {
        }

        /// <summary>The options this strategy was made from.</summary>
        public abstract RestartStrategyOptions Options { get; }

        /// <summary>Failures reported so far, over the job's whole life (resets do not clear it).</summary>
        public int TotalFailures { get; private set; }

        /// <summary>
        /// Reports that the job failed with <paramref name="failure"/> after running for
        /// <paramref name="runDuration"/> since it last (re)started, and returns what to do.
        /// </summary>
        public RestartDecision OnFailure(Exception failure, TimeSpan runDuration)
        {
            ArgumentNullException.ThrowIfNull(failure);
            TotalFailures = TotalFailures == int.MaxValue ? int.MaxValue : TotalFailures + 1;
            return Decide(failure, runDuration);
        }

        private protected abstract RestartDecision Decide(Exception failure, TimeSpan runDuration);

        /// <summary>"last failure: InvalidOperationException: the message", the end of every give-up reason.</summary>
        private protected static string LastFailure(Exception failure) => $"last failure: {failure.GetType().Name}: {failure.Message}";

        /// <summary>"1 time", "4 times".</summary>
        private protected static string Times(int count) => count == 1 ? "1 time" : $"{count} times";

        /// <summary>"1 attempt", "3 attempts", "unlimited attempts".</summary>
        private protected static string Attempts(int count)
            => count == int.MaxValue ? "unlimited attempts" : count == 1 ? "1 attempt" : $"{count} attempts";
    }

    /// <summary>The <c>none</c> strategy: gives up on the first failure.</summary>
    internal sealed class NoRestartStrategy : RestartStrategy
    {
        public override RestartStrategyOptions Options => NoRestartOptions.Instance;

        private protected override RestartDecision Decide(Exception failure, TimeSpan runDuration)
            => RestartDecision.GiveUp($"restart strategy none does not restart jobs; {LastFailure(failure)}");
    }

    /// <summary>The <c>fixed-delay</c> strategy: <see cref="FixedDelayRestartOptions.Attempts"/> restarts in the job's life, each after the same delay.</summary>
    internal sealed class FixedDelayRestartStrategy : RestartStrategy
    {
        private readonly FixedDelayRestartOptions _options;

        public FixedDelayRestartStrategy(FixedDelayRestartOptions options) => _options = options;

        public override RestartStrategyOptions Options => _options;

        private protected override RestartDecision Decide(Exception failure, TimeSpan runDuration)
        {
            if (TotalFailures > _options.Attempts)
            {
                return RestartDecision.GiveUp(
                    $"restart strategy fixed-delay allows {Attempts(_options.Attempts)}; the job failed {Times(TotalFailures)}; {LastFailure(failure)}");
            }

            return RestartDecision.RestartAfter(_options.Delay);
        }
    }
}
