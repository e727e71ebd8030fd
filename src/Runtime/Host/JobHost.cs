using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Runtime.InteropServices;
using System.Threading;
using Microsoft.Extensions.Logging;
using Weir.Execution;

namespace Weir.Hosting
{
    /// <summary>
    /// The command line every job binary has (<c>MyJob run --parallelism 4 ...</c>): parses arguments,
    /// sets up logging and signals, and runs the job in this process.
    /// </summary>
    public static class JobHost
    {
        /// <summary>Exit code of a job that finished.</summary>
        public const int ExitSuccess = 0;

        /// <summary>Exit code of a job that failed.</summary>
        public const int ExitFailure = 1;

        /// <summary>Exit code of a job stopped by Ctrl+C or SIGTERM (its sinks committed what they received).</summary>
        public const int ExitStopped = 130;

        private const string DefaultStateMemory = "64MiB";

        /// <summary>Parses <paramref name="args"/> and runs the requested command.</summary>
        public static int Run(string[] args, JobDefinition job)
        {
            RootCommand root = CreateCommandLine(job);
            return root.Parse(args).Invoke();
        }

        /// <summary>Builds the job's command line.</summary>
        public static RootCommand CreateCommandLine(JobDefinition job)
        {
            var parallelism = new Option<int?>("--parallelism", "-p")
            {
                Description = "Default parallelism of the job's operators (operators with a parallelism set in the pipeline keep it).",
            };
            var maxParallelism = new Option<int?>("--max-parallelism")
            {
                Description = "Number of key groups, fixed for the life of the job's state. Default: min(max(nextPow2(p + p/2), 128), 32768).",
            };
            var logLevel = new Option<LogLevel>("--log-level")
            {
                Description = "Least severe log level written to standard error.",
                DefaultValueFactory = _ => LogLevel.Information,
            };

            var stateBackend = new Option<State.StateBackendKind>("--state-backend")
            {
                Description = "Where keyed state lives: heap (objects in memory, fastest) or faster (Microsoft FASTER's hybrid log: " +
                    "a memory budget per subtask, the rest spilled to local files, so state can outgrow memory).",
                DefaultValueFactory = _ => State.StateBackendKind.Heap,
            };
            var stateDirectory = new Option<string?>("--state-dir")
            {
                Description = "FASTER backend: local directory for the state stores' files (a directory per run is created in it and deleted at the end). " +
                    "Default: weir-state in the system's temporary directory.",
            };
            var stateMemory = new Option<string>("--state-memory")
            {
                Description = "FASTER backend: log memory per keyed subtask, e.g. 64MiB, 512m, 2GiB (at least 4MiB).",
                DefaultValueFactory = _ => DefaultStateMemory,
            };
            var stateCachedKeys = new Option<int>("--state-cached-keys")
            {
                Description = "FASTER backend: keys each keyed operator subtask keeps deserialized in memory in front of its store.",
                DefaultValueFactory = _ => State.StateBackendOptions.DefaultCachedKeys,
            };

            var checkpoints = new CheckpointCommandLine();
            var stallTimeout = new Option<TimeSpan?>("--stall-timeout")
            {
                Description = "Fail the job (and restart it, with checkpoints) when a subtask stays inside user code for longer than this, e.g. 30s, 5m. Default: off.",
                CustomParser = result => CommandLineValues.ParseDuration(result),
            };

            var run = new Command("run", $"Run the job '{job.Name}' in this process.");
            run.Options.Add(parallelism);
            run.Options.Add(maxParallelism);
            run.Options.Add(stateBackend);
            run.Options.Add(stateDirectory);
            run.Options.Add(stateMemory);
            run.Options.Add(stateCachedKeys);
            checkpoints.AddTo(run);
            run.Options.Add(stallTimeout);
            run.Options.Add(logLevel);
            var parameterOptions = new List<(JobParameter Parameter, Option Option)>();
            foreach (JobParameter parameter in job.Parameters)
            {
                Option option = parameter.CreateOption();
                run.Options.Add(option);
                parameterOptions.Add((parameter, option));
            }

            run.Validators.Add(result =>
            {
                if (result.GetValue(parallelism) is int p && p < 1)
                {
                    result.AddError($"--parallelism must be at least 1 (got {p}).");
                }

                if (result.GetValue(maxParallelism) is int m && (m < 1 || m > KeyGroups.UpperBound))
                {
                    result.AddError($"--max-parallelism must be in [1, {KeyGroups.UpperBound}] (got {m}).");
                }

                // A command validator sees no default values, so an option left out reads as null here.
                string memory = result.GetValue(stateMemory) ?? DefaultStateMemory;
                if (!ByteSize.TryParse(memory, out long bytes))
                {
                    result.AddError($"--state-memory must be a size such as 64MiB, 512m or 2GiB (got '{memory}').");
                }
                else if (bytes < State.Faster.FasterBytesStore.MinimumMemoryBudgetBytes)
                {
                    result.AddError($"--state-memory must be at least 4MiB: two 2 MiB log pages (got '{memory}').");
                }

                if (result.GetResult(stateCachedKeys) is not null && result.GetValue(stateCachedKeys) < 1)
                {
                    result.AddError($"--state-cached-keys must be at least 1 (got {result.GetValue(stateCachedKeys)}).");
                }

                checkpoints.Validate(result);
            });

            run.SetAction(result =>
            {
                var arguments = new JobArguments();
                foreach ((JobParameter parameter, Option option) in parameterOptions)
                {
                    arguments.Set(parameter.Name, parameter.Read(result, option));
                }

                ByteSize.TryParse(result.GetValue(stateMemory) ?? DefaultStateMemory, out long memoryBudget);
                var backend = new State.StateBackendOptions(
                    result.GetValue(stateBackend),
                    result.GetValue(stateDirectory),
                    memoryBudget,
                    result.GetValue(stateCachedKeys));
                var options = new ExecutionOptions(
                    result.GetValue(parallelism),
                    result.GetValue(maxParallelism),
                    StateBackend: backend,
                    Checkpointing: checkpoints.Read(result),
                    StallDetection: result.GetValue(stallTimeout) is { } stall ? Recovery.StallDetectionOptions.After(stall) : null);
                return RunInProcess(job, arguments, options, result.GetValue(logLevel));
            });

            var root = new RootCommand($"Weir job '{job.Name}'.");
            root.Subcommands.Add(run);
            Inspection.InspectionCommandLine.AddTo(root, job);
            JobControlCommands.AddTo(root, job);
            StateManifestCommand.AddTo(root, job);
            return root;
        }

        private static int RunInProcess(JobDefinition job, JobArguments arguments, ExecutionOptions options, LogLevel level)
        {
            using ILoggerFactory loggers = LoggerFactory.Create(builder => builder
                .SetMinimumLevel(level)
                .AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace)
                .AddSimpleConsole(console =>
                {
                    console.SingleLine = true;
                    console.TimestampFormat = "HH:mm:ss.fff ";
                }));
            ILogger logger = loggers.CreateLogger("Weir." + job.Name);

            using var stop = new CancellationTokenSource();
            using var abort = new CancellationTokenSource();
            int interrupts = 0;
            ConsoleCancelEventHandler onCancel = (_, e) =>
            {
                e.Cancel = true;
                if (Interlocked.Increment(ref interrupts) == 1)
                {
                    logger.LogWarning("Stopping: sources stop reading, the job drains and sinks commit. Press Ctrl+C again to abort.");
                    stop.Cancel();
                }
                else
                {
                    logger.LogWarning("Aborting without committing.");
                    abort.Cancel();
                }
            };
            Console.CancelKeyPress += onCancel;
            using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
            {
                context.Cancel = true;
                logger.LogWarning("SIGTERM: stopping.");
                stop.Cancel();
            });

            try
            {
                JobPlan plan = job.CreatePlan(arguments);
                JobResult result = new LocalExecutor(logger).Execute(plan, options, stop.Token, abort.Token);
                if (!result.Completed && result.StoppedWithSavepoint is null)
                {
                    return ExitFailure;
                }

                return stop.IsCancellationRequested ? ExitStopped : ExitSuccess;
            }
            catch (JobFailedException)
            {
                // Already logged with its cause by the executor.
                return ExitFailure;
            }
            catch (Exception ex) when (ex is ArgumentException or System.IO.IOException or UnauthorizedAccessException)
            {
                logger.LogError("Job '{Job}' could not start: {Message}", job.Name, ex.Message);
                return ExitFailure;
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
            }
        }
    }
}
