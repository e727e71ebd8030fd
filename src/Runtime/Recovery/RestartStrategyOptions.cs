using System;
using Weir.Hosting;

namespace Weir.Recovery
{
    /// <summary>
    /// Which restart strategy a job runs with and its settings, as Flink names them: <c>none</c>,
    /// <c>fixed-delay</c>, <c>failure-rate</c> and <c>exponential-delay</c>. The options are immutable
    /// values; <see cref="CreateStrategy"/> makes the stateful <see cref="RestartStrategy"/> that counts
    /// the failures of one job run.
    /// </summary>
    public abstract partial record RestartStrategyOptions
    {
        private protected RestartStrategyOptions()
        {
        }

        /// <summary>The strategy's name on the command line: <c>none</c>, <c>fixed-delay</c>, <c>failure-rate</c> or <c>exponential-delay</c>.</summary>
        public abstract string Name { get; }

        /// <summary>
        /// The strategy a job gets when none is configured, as in Flink 1.19+ (FLINK-33738):
        /// <c>exponential-delay</c> with its default settings when checkpointing is on, because a job
        /// that checkpoints can resume where it stopped and is worth restarting; <c>none</c> when it
        /// is off, because a restart would reprocess everything from the beginning.
        /// </summary>
        public static RestartStrategyOptions DefaultFor(bool checkpointingEnabled)
            => checkpointingEnabled ? new ExponentialDelayRestartOptions() : NoRestartOptions.Instance;

        /// <summary>Why these settings cannot work (naming the setting as the command line does), or null if they can.</summary>
        public abstract string? Validate();

        /// <summary>
        /// The settings as one command-line value that <see cref="TryParse"/> reads back to equal options,
        /// every setting spelled out, e.g. <c>fixed-delay:attempts=3,delay=10s</c>. Used in logs and errors.
        /// </summary>
        public abstract string ToCommandLineValue();

        /// <summary>A new decision object for one job, starting with no failures counted.</summary>
        /// <param name="clock">The time source for strategies that look at when failures happened (failure-rate); <see cref="TimeProvider.System"/> if null.</param>
        /// <param name="random">The jitter source for exponential-delay; <see cref="Random.Shared"/> if null.</param>
        /// <exception cref="ArgumentException">The settings are invalid (<see cref="Validate"/>).</exception>
        public RestartStrategy CreateStrategy(TimeProvider? clock = null, Random? random = null)
        {
            string? invalid = Validate();
            if (invalid is not null)
            {
                throw new ArgumentException($"restart strategy {Name}: {invalid}");
            }

            return CreateValidated(clock ?? TimeProvider.System, random ?? Random.Shared);
        }

        private protected abstract RestartStrategy CreateValidated(TimeProvider clock, Random random);
    }

    /// <summary>Never restart: the first failure fails the job. Flink's default when checkpointing is off.</summary>
    public sealed record NoRestartOptions : RestartStrategyOptions
    {
        /// <summary>The one instance; the strategy has no settings.</summary>
        public static NoRestartOptions Instance { get; } = new();

        /// <inheritdoc/>
        public override string Name => "none";

        /// <inheritdoc/>
        public override string? Validate() => null;

        /// <inheritdoc/>
        public override string ToCommandLineValue() => Name;

        private protected override RestartStrategy CreateValidated(TimeProvider clock, Random random) => new NoRestartStrategy();
    }

    /// <summary>Restart after a fixed delay, up to a number of times in the job's life; the next failure fails the job.</summary>
    public sealed record FixedDelayRestartOptions : RestartStrategyOptions
    {
        /// <summary>How many restarts are allowed (0 means none; <see cref="int.MaxValue"/> means unlimited). Flink's default: 1.</summary>
        public int Attempts { get; init; } = 1;

        /// <summary>How long to wait before each restart. Flink's default: 1 s.</summary>
        public TimeSpan Delay { get; init; } = TimeSpan.FromSeconds(1);

        /// <inheritdoc/>
        public override string Name => "fixed-delay";

        /// <inheritdoc/>
        public override string? Validate()
            => Attempts < 0 ? $"attempts must be 0 or more (got {Attempts})"
            : Delay < TimeSpan.Zero ? $"delay must not be negative (got {Duration.Format(Delay)})"
            : null;

        /// <inheritdoc/>
        public override string ToCommandLineValue()
            => $"{Name}:attempts={(Attempts == int.MaxValue ? "unlimited" : Attempts)},delay={Duration.Format(Delay)}";

        private protected override RestartStrategy CreateValidated(TimeProvider clock, Random random) => new FixedDelayRestartStrategy(this);
    }

    /// <summary>
    /// Restart after a fixed delay as long as no more than <see cref="MaxFailures"/> failures fall within
    /// any <see cref="Interval"/>; the failure that makes it one more fails the job. A job that fails now
    /// and then runs forever; one caught in a crash loop stops.
    /// </summary>
    public sealed record FailureRateRestartOptions : RestartStrategyOptions
    {
        /// <summary>How many failures one interval may hold and still be restarted. Flink's default: 1.</summary>
        public int MaxFailures { get; init; } = 1;

        /// <summary>The sliding window failures are counted in. Flink's default: 1 min.</summary>
        public TimeSpan Interval { get; init; } = TimeSpan.FromMinutes(1);

        /// <summary>How long to wait before each restart. Flink's default: 1 s.</summary>
        public TimeSpan Delay { get; init; } = TimeSpan.FromSeconds(1);

        /// <inheritdoc/>
        public override string Name => "failure-rate";

        /// <inheritdoc/>
        public override string? Validate()
            => MaxFailures < 1 ? $"max-failures must be at least 1 (got {MaxFailures})"
            : Interval <= TimeSpan.Zero ? $"interval must be longer than 0 (got {Duration.Format(Interval)})"
            : Delay < TimeSpan.Zero ? $"delay must not be negative (got {Duration.Format(Delay)})"
            : null;

        /// <inheritdoc/>
        public override string ToCommandLineValue()
            => $"{Name}:max-failures={MaxFailures},interval={Duration.Format(Interval)},delay={Duration.Format(Delay)}";

        private protected override RestartStrategy CreateValidated(TimeProvider clock, Random random) => new FailureRateRestartStrategy(this, clock);
    }

    /// <summary>
    /// Restart after a delay that grows by <see cref="Multiplier"/> with each failure, from
    /// <see cref="InitialBackoff"/> up to <see cref="MaxBackoff"/>, spread by ±<see cref="JitterFactor"/>
    /// so that many jobs failing together do not restart together. A run that lasts at least
    /// <see cref="ResetBackoffThreshold"/> was healthy: the backoff and the attempt count start over.
    /// Flink's default strategy when checkpointing is on (since 1.19); the defaults are Flink's.
    /// </summary>
    public sealed record ExponentialDelayRestartOptions : RestartStrategyOptions
    {
        /// <summary>The delay before the first restart (and the first after a reset). Default: 1 s.</summary>
        public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromSeconds(1);

        /// <summary>The longest delay the growth reaches (before jitter). Default: 1 min.</summary>
        public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromMinutes(1);

        /// <summary>What each failure multiplies the delay by. Default: 1.5.</summary>
        public double Multiplier { get; init; } = 1.5;

        /// <summary>A run at least this long resets the backoff and the attempt count. Default: 1 h.</summary>
        public TimeSpan ResetBackoffThreshold { get; init; } = TimeSpan.FromHours(1);

        /// <summary>Each delay is moved by a random amount up to this fraction of it, either way (0 to 1). Default: 0.1.</summary>
        public double JitterFactor { get; init; } = 0.1;

        /// <summary>How many restarts are allowed between resets; the next failure fails the job. Default: unlimited (<see cref="int.MaxValue"/>).</summary>
        public int AttemptsBeforeReset { get; init; } = int.MaxValue;

        /// <inheritdoc/>
        public override string Name => "exponential-delay";

        /// <inheritdoc/>
        public override string? Validate()
            => InitialBackoff <= TimeSpan.Zero ? $"initial must be longer than 0 (got {Duration.Format(InitialBackoff)})"
            : MaxBackoff < InitialBackoff ? $"max ({Duration.Format(MaxBackoff)}) must be at least initial ({Duration.Format(InitialBackoff)})"
            : !(Multiplier >= 1) || double.IsInfinity(Multiplier) ? $"multiplier must be a number of at least 1 (got {Multiplier.ToString(System.Globalization.CultureInfo.InvariantCulture)})"
            : ResetBackoffThreshold <= TimeSpan.Zero ? $"reset must be longer than 0 (got {Duration.Format(ResetBackoffThreshold)})"
            : !(JitterFactor >= 0 && JitterFactor <= 1) ? $"jitter must be between 0 and 1 (got {JitterFactor.ToString(System.Globalization.CultureInfo.InvariantCulture)})"
            : AttemptsBeforeReset < 1 ? $"attempts must be at least 1 (got {AttemptsBeforeReset})"
            : null;

        /// <inheritdoc/>
        public override string ToCommandLineValue()
            => string.Create(
                System.Globalization.CultureInfo.InvariantCulture,
                $"{Name}:initial={Duration.Format(InitialBackoff)},max={Duration.Format(MaxBackoff)},multiplier={Multiplier},reset={Duration.Format(ResetBackoffThreshold)},jitter={JitterFactor},attempts={(AttemptsBeforeReset == int.MaxValue ? "unlimited" : AttemptsBeforeReset)}");

        private protected override RestartStrategy CreateValidated(TimeProvider clock, Random random) => new ExponentialDelayRestartStrategy(this, random);
    }
}
