using System;
using System.CommandLine;
using System.CommandLine.Parsing;
using Weir.Checkpointing.Coordinator;
using Weir.Checkpointing.Storage;
using Weir.Execution;
using Weir.Recovery;

namespace Weir.Hosting
{
    /// <summary>
    /// The checkpoint and recovery options of <c>run</c>: where checkpoints go, how often, in which
    /// mode, how many are kept, and what happens on failure. Without <c>--checkpoint-dir</c> the job
    /// runs without checkpoints (and a failure ends it).
    /// </summary>
    internal sealed class CheckpointCommandLine
    {
        private readonly Option<string?> _directory = new("--checkpoint-dir")
        {
            Description = "Directory for checkpoints (a subdirectory per job). With it the job checkpoints, restarts after failures, " +
                "and a process started again with the same command resumes from the latest completed checkpoint.",
        };

        private readonly Option<string?> _interval = new("--checkpoint-interval")
        {
            Description = "Time between checkpoints, e.g. 200ms, 1s, 5m (default 1s when --checkpoint-dir is given).",
        };

        private readonly Option<CheckpointModeOption> _mode = new("--checkpoint-mode")
        {
            Description = "exactly-once (barriers aligned; with the transactional sinks, output is exactly once) or at-least-once (no alignment: lower latency, records may repeat after a failure).",
            DefaultValueFactory = _ => CheckpointModeOption.ExactlyOnce,
        };

        private readonly Option<string?> _timeout = new("--checkpoint-timeout")
        {
            Description = "A checkpoint not acknowledged by every subtask within this time is aborted (default 10m).",
        };

        private readonly Option<string?> _minPause = new("--min-pause")
        {
            Description = "Least time between the end of one checkpoint and the start of the next (default 0).",
        };

        private readonly Option<int?> _maxConcurrent = new("--max-concurrent-checkpoints")
        {
            Description = "Checkpoints in flight at once (default 1).",
        };

        private readonly Option<int?> _tolerableFailures = new("--tolerable-checkpoint-failures")
        {
            Description = "Consecutive failed checkpoints tolerated before the job fails and restarts (default 0).",
        };

        private readonly Option<int?> _retained = new("--retained-checkpoints")
        {
            Description = "Completed checkpoints kept (default 1); older ones and the files only they use are deleted.",
        };

        private readonly Option<bool> _retainOnCancel = new("--retain-on-cancel")
        {
            Description = "Keep the checkpoints when the job is aborted (a second Ctrl+C). A killed or failed job always keeps them.",
        };

        private readonly Option<bool> _fresh = new("--fresh")
        {
            Description = "Start without state even if --checkpoint-dir holds checkpoints of this job (they are deleted first).",
        };

        private readonly Option<string?> _restart = new("--restart-strategy")
        {
            Description = "What to do when the job fails: none, fixed-delay:attempts=3,delay=10s, failure-rate:max-failures=3,interval=5m,delay=10s, " +
                "or exponential-delay:initial=1s,max=1m,multiplier=2,reset=1h,jitter=0.1 (default with checkpoints: exponential-delay).",
        };

        /// <summary>How <c>--checkpoint-mode</c> is spelled.</summary>
        private readonly Option<string?> _fromSavepoint = new("--from-savepoint")
        {
            Description = "Start from this savepoint directory (the path the savepoint or stop command printed; it may have been copied from another machine). " +
                "It wins over checkpoints of the job in --checkpoint-dir; parallelism and state backend may differ from the run that took it. Needs --checkpoint-dir.",
        };

        private readonly Option<bool> _allowNonRestoredState = new("--allow-non-restored-state")
        {
            Description = "Start even if the savepoint or checkpoint holds state of operators this job no longer has (that state is dropped). " +
                "Without it such a restore is refused, naming the operators.",
        };

        internal enum CheckpointModeOption
        {
            ExactlyOnce,
            AtLeastOnce,
        }

        public void AddTo(Command run)
        {
            run.Options.Add(_directory);
            run.Options.Add(_interval);
            run.Options.Add(_mode);
            run.Options.Add(_timeout);
            run.Options.Add(_minPause);
            run.Options.Add(_maxConcurrent);
            run.Options.Add(_tolerableFailures);
            run.Options.Add(_retained);
            run.Options.Add(_retainOnCancel);
            run.Options.Add(_fresh);
            run.Options.Add(_restart);
            run.Options.Add(_fromSavepoint);
            run.Options.Add(_allowNonRestoredState);
        }

        public void Validate(CommandResult result)
        {
            CheckDuration(result, _interval);
            CheckDuration(result, _timeout);
            CheckDuration(result, _minPause);
            if (result.GetValue(_directory) is null)
            {
                foreach (Option option in new Option[] { _interval, _timeout, _minPause, _maxConcurrent, _tolerableFailures, _retained, _restart, _fromSavepoint })
                {
                    if (result.GetResult(option) is { Implicit: false })
                    {
                        result.AddError($"{option.Name} needs --checkpoint-dir: without a checkpoint directory the job runs without checkpoints.");
                    }
                }
            }

            if (result.GetValue(_restart) is { } restart && !RestartStrategyOptions.TryParse(restart, out _, out string error))
            {
                result.AddError($"--restart-strategy: {error}");
            }

            if (result.GetValue(_retained) is < 1)
            {
                result.AddError($"--retained-checkpoints must be at least 1 (got {result.GetValue(_retained)}).");
            }

            try
            {
                Options(result)?.Checkpoints.Validate();
            }
            catch (ArgumentException ex)
            {
                result.AddError(ex.Message);
            }
        }

        public CheckpointingOptions? Read(ParseResult result) => Options(result.CommandResult);

        private CheckpointingOptions? Options(CommandResult result)
        {
            if (result.GetValue(_directory) is not { } directory)
            {
                return null;
            }

            var checkpoints = new CheckpointOptions
            {
                Interval = DurationOr(result, _interval, TimeSpan.FromSeconds(1)),
                Timeout = DurationOr(result, _timeout, new CheckpointOptions().Timeout),
                MinPauseBetweenCheckpoints = DurationOr(result, _minPause, TimeSpan.Zero),
                MaxConcurrentCheckpoints = result.GetValue(_maxConcurrent) ?? 1,
                TolerableConsecutiveFailures = result.GetValue(_tolerableFailures) ?? 0,
                Mode = result.GetValue(_mode) == CheckpointModeOption.AtLeastOnce ? CheckpointingMode.AtLeastOnce : CheckpointingMode.ExactlyOnce,
            };
            var retention = new CheckpointRetention
            {
                RetainedCheckpoints = result.GetValue(_retained) ?? 1,
                RetainOnCancellation = result.GetValue(_retainOnCancel),
            };
            RestartStrategyOptions restart = result.GetValue(_restart) is { } text && RestartStrategyOptions.TryParse(text, out RestartStrategyOptions parsed, out _)
                ? parsed
                : RestartStrategyOptions.DefaultFor(checkpointingEnabled: true);
            return new CheckpointingOptions(
                directory,
                checkpoints,
                retention,
                result.GetValue(_fresh),
                restart,
                FromSavepoint: result.GetValue(_fromSavepoint),
                AllowNonRestoredState: result.GetValue(_allowNonRestoredState));
        }

        private static TimeSpan DurationOr(CommandResult result, Option<string?> option, TimeSpan fallback)
            => result.GetValue(option) is { } text && Duration.TryParse(text, out TimeSpan value, out _) ? value : fallback;

        private static void CheckDuration(CommandResult result, Option<string?> option)
        {
            if (result.GetValue(option) is { } text && !Duration.TryParse(text, out _, out string error))
            {
                result.AddError($"{option.Name}: {error}");
            }
        }
    }
}
