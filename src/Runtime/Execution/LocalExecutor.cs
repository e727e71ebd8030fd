using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Weir.Checkpointing.Coordinator;
using Weir.Checkpointing.Storage;
using Weir.Checkpointing.Subtasks;
using Weir.CompilerServices;

namespace Weir.Execution
{
    /// <summary>How to run a plan.</summary>
    /// <param name="Parallelism">The job parallelism (null: the pipeline's default).</param>
    /// <param name="MaxParallelism">The max parallelism (null: the pipeline's, else Flink's default for the parallelism).</param>
    /// <param name="GateCapacity">Batches an input gate holds before senders block (backpressure).</param>
    /// <param name="BatchSize">Records per exchange batch.</param>
    /// <param name="Clock">Processing time for state time-to-live (null: the system clock); tests pass a fake.</param>
    /// <param name="StateBackend">Where keyed state lives (null: the heap).</param>
    /// <param name="Checkpointing">Where and how often to checkpoint (null: no checkpoints, no recovery).</param>
    /// <param name="StallDetection">Fail the job when a subtask stays inside one batch of user code longer than a timeout (null: off, as in Flink).</param>
    public sealed record ExecutionOptions(
        int? Parallelism = null,
        int? MaxParallelism = null,
        int GateCapacity = ExecutionDefaults.GateCapacity,
        int BatchSize = ExecutionDefaults.ExchangeBatchSize,
        TimeProvider? Clock = null,
        State.StateBackendOptions? StateBackend = null,
        CheckpointingOptions? Checkpointing = null,
        Recovery.StallDetectionOptions? StallDetection = null);

    /// <summary>Checkpoints of a run and recovery from them.</summary>
    /// <param name="Directory">The checkpoint directory (the job's checkpoints go to a subdirectory named after it).</param>
    /// <param name="Checkpoints">Interval, timeout, pauses, concurrency, tolerated failures, mode.</param>
    /// <param name="Retention">How many completed checkpoints are kept, and whether a cancelled job keeps them.</param>
    /// <param name="Fresh">Start without state even if the directory holds checkpoints of the job (they are deleted).</param>
    /// <param name="Restart">What to do when the job fails (null: Flink's default with checkpoints, exponential delay).</param>
    /// <param name="Faults">Failure injection for tests.</param>
    /// <param name="FromSavepoint">A savepoint directory to start from; it wins over checkpoints of the job in <paramref name="Directory"/>.</param>
    /// <param name="AllowNonRestoredState">Start even when the savepoint or checkpoint holds state of operators the job no longer has (that state is dropped).</param>
    /// <param name="JobControl">Serve the job-control endpoint (savepoint, stop, cancel) in the job's checkpoint directory.</param>
    public sealed record CheckpointingOptions(
        string Directory,
        Checkpointing.Coordinator.CheckpointOptions Checkpoints,
        Checkpointing.Storage.CheckpointRetention? Retention = null,
        bool Fresh = false,
        Recovery.RestartStrategyOptions? Restart = null,
        Checkpointing.Subtasks.ICheckpointFaults? Faults = null,
        string? FromSavepoint = null,
        bool AllowNonRestoredState = false,
        bool JobControl = true);

    /// <summary>How a job run ended.</summary>
    /// <param name="JobName">The job.</param>
    /// <param name="Completed">True when all input was processed; false when the run was aborted.</param>
    /// <param name="Duration">Wall-clock time of the run.</param>
    /// <param name="Parallelism">The job parallelism used.</param>
    /// <param name="MaxParallelism">The max parallelism used.</param>
    /// <param name="StoppedWithSavepoint">The savepoint a stop request took before the job stopped (null: not stopped that way).</param>
    public sealed record JobResult(string JobName, bool Completed, TimeSpan Duration, int Parallelism, int MaxParallelism, string? StoppedWithSavepoint = null);

    /// <summary>
    /// Runs a plan in this process: one thread per subtask (chain instance), bounded gates between
    /// chains. The first failure aborts every subtask and is rethrown as a <see cref="JobFailedException"/>.
    /// </summary>
    public sealed class LocalExecutor
    {
        private readonly ILogger _logger;

        /// <summary>Creates an executor that logs to <paramref name="logger"/>.</summary>
        public LocalExecutor(ILogger? logger = null) => _logger = logger ?? NullLogger.Instance;

        /// <summary>
        /// Runs the plan to its end. <paramref name="stop"/> asks sources to stop reading: the job then
        /// drains and finishes normally (sinks commit what they received). <paramref name="abort"/>
        /// stops every subtask at once without committing.
        /// </summary>
        public JobResult Execute(JobPlan plan, ExecutionOptions? options = null, CancellationToken stop = default, CancellationToken abort = default)
        {
            options ??= new ExecutionOptions();

            // The job-control endpoint stops (drain) and aborts (stop without drain, cancel) through these.
            using var stopSource = CancellationTokenSource.CreateLinkedTokenSource(stop);
            using var abortSource = CancellationTokenSource.CreateLinkedTokenSource(abort);
            stop = stopSource.Token;
            abort = abortSource.Token;
            int jobParallelism = options.Parallelism ?? plan.DefaultParallelism;
            int[] parallelism = plan.Chains.Select(c => c.Info.FixedParallelism ?? jobParallelism).ToArray();
            int maxParallelism = options.MaxParallelism ?? plan.MaxParallelism ?? KeyGroups.DefaultMaxParallelism(parallelism.DefaultIfEmpty(1).Max());
            foreach (ChainVertex chain in plan.Chains)
            {
                int p = parallelism[chain.Info.Index];
                if (p < 1 || p > maxParallelism)
                {
                    throw new ArgumentOutOfRangeException(nameof(options), $"Chain '{chain.Info.Name}' would run with parallelism {p}, outside [1, max parallelism {maxParallelism}]. Lower --parallelism or raise the job's max parallelism.");
                }
            }

            State.StateBackendOptions stateBackend = options.StateBackend ?? State.StateBackendOptions.Heap;
            stateBackend.Validate();
            string? stateRunDirectory = stateBackend.Kind == State.StateBackendKind.Faster
                ? System.IO.Path.Combine(stateBackend.RootDirectory, $"{plan.JobName}-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}")
                : null;

            CheckpointCatalog? catalog = null;
            CheckpointDriver? driver = null;
            RestoredCheckpoint? savepoint = null;
            long firstIdOfRun = 0;
            using CheckpointDirectoryLock? directoryLock = options.Checkpointing is { } locked ? CheckpointDirectoryLock.Acquire(locked.Directory, plan.JobName) : null;
            if (options.Checkpointing is { } checkpointing)
            {
                catalog = CheckpointCatalog.Open(new LocalCheckpointStorage(checkpointing.Directory), plan.JobName, checkpointing.Retention, _logger);
                catalog.StateManifestJson = plan.StateManifest?.ToJson();
                if (checkpointing.Fresh && catalog.Retained.Count > 0)
                {
                    catalog.DeleteAll("a fresh start was asked for (--fresh)");
                }

                if (checkpointing.FromSavepoint is { } savepointDirectory)
                {
                    savepoint = ReadSavepoint(plan, savepointDirectory, catalog, checkpointing.AllowNonRestoredState);
                    CheckOrphanedState(plan, savepoint, checkpointing.AllowNonRestoredState, $"savepoint '{savepoint.SavepointDirectory}'");
                }

                // Key groups are fixed by the first run: a restore keeps the checkpoint's max parallelism.
                if (options.MaxParallelism is null && plan.MaxParallelism is null)
                {
                    if (savepoint is not null)
                    {
                        maxParallelism = savepoint.MaxParallelism;
                    }
                    else if (catalog.Retained.Count > 0)
                    {
                        maxParallelism = catalog.Retained[^1].Metadata.MaxParallelism;
                    }
                }

                // Checkpoints this run takes have IDs from here on; older ones predate the savepoint.
                firstIdOfRun = Math.Max(catalog.NextCheckpointId, (savepoint?.CheckpointId ?? 0) + 1);

                var subtaskIds = plan.Chains.SelectMany(c => Enumerable.Range(0, parallelism[c.Info.Index]).Select(i => new SubtaskId(c.Info.Index, i)));
                driver = new CheckpointDriver(catalog, checkpointing.Checkpoints, subtaskIds, maxParallelism, _logger, checkpointing.Faults);
            }

            using Control.JobControlServer? control = driver is not null && options.Checkpointing!.JobControl
                ? Control.JobControlServer.Start(options.Checkpointing.Directory, plan.JobName, driver, stopSource, abortSource, _logger)
                : null;

            Recovery.RestartStrategy restart = (options.Checkpointing?.Restart ?? Recovery.RestartStrategyOptions.DefaultFor(checkpointingEnabled: true)).CreateStrategy();
            var clock = Stopwatch.StartNew();
            try
            {
                for (int attempt = 0; ; attempt++)
                {
                    RestoredCheckpoint? restored = null;
                    if (savepoint is not null && (attempt == 0 || catalog!.Retained.Count == 0 || catalog.Retained[^1].CheckpointId < firstIdOfRun))
                    {
                        // Until this run completes a checkpoint of its own, (re)starts go back to the savepoint.
                        restored = savepoint;
                        if (savepoint.MaxParallelism != maxParallelism)
                        {
                            throw Refuse(plan, new CheckpointRestoreException(
                                $"Savepoint '{savepoint.SavepointDirectory}' was taken with max parallelism {savepoint.MaxParallelism}, but job '{plan.JobName}' now runs with {maxParallelism}: key groups cannot change. Run with --max-parallelism {savepoint.MaxParallelism}."));
                        }

                        _logger.LogInformation("Job '{Job}' resumes from savepoint {CheckpointId} in '{Directory}'", plan.JobName, savepoint.CheckpointId, savepoint.SavepointDirectory);
                    }
                    else if (catalog?.SelectForRecovery() is { } latest)
                    {
                        if (latest.Metadata.MaxParallelism != maxParallelism)
                        {
                            throw Refuse(plan, new CheckpointRestoreException(
                                $"Checkpoint {latest.CheckpointId} of job '{plan.JobName}' was taken with max parallelism {latest.Metadata.MaxParallelism}, but the job now runs with {maxParallelism}: key groups cannot change. Run with --max-parallelism {latest.Metadata.MaxParallelism}, or start fresh (--fresh)."));
                        }

                        restored = new RestoredCheckpoint(latest, catalog) { AllowNonRestoredState = options.Checkpointing!.AllowNonRestoredState };
                        CheckOrphanedState(plan, restored, options.Checkpointing!.AllowNonRestoredState, $"checkpoint {latest.CheckpointId} in '{options.Checkpointing.Directory}'");
                        _logger.LogInformation("Job '{Job}' resumes from checkpoint {CheckpointId} in {Directory}", plan.JobName, latest.CheckpointId, options.Checkpointing!.Directory);
                    }

                    string? attemptStateDirectory = stateRunDirectory is null ? null : System.IO.Path.Combine(stateRunDirectory, $"attempt-{attempt}");
                    var attemptClock = Stopwatch.StartNew();
                    try
                    {
                        JobResult result = RunAttempt(plan, options, stop, abort, jobParallelism, parallelism, maxParallelism, stateBackend, attemptStateDirectory, driver, restored, attempt, clock);
                        string? stoppedWith = control?.StopOutcome(TimeSpan.FromSeconds(60));
                        driver?.EndAttempt(result.Completed ? "the job finished" : stoppedWith is not null ? "the job stopped with a savepoint" : "the job was aborted");

                        // A job stopped with a savepoint keeps its checkpoints as a finished one does.
                        driver?.Close(result.Completed || stoppedWith is not null ? JobTermination.Finished : JobTermination.Cancelled);
                        return stoppedWith is null ? result : result with { StoppedWithSavepoint = stoppedWith };
                    }
                    catch (JobFailedException failure) when (driver is not null)
                    {
                        driver.EndAttempt(failure.InnerException?.Message ?? failure.Message);
                        Exception cause = failure.InnerException ?? failure;
                        if (abort.IsCancellationRequested || stop.IsCancellationRequested || cause is CheckpointRestoreException)
                        {
                            // Stopped or aborted by the user, or a restore that would fail the same way again.
                            driver.Close(JobTermination.Failed);
                            throw;
                        }

                        Recovery.RestartDecision decision = restart.OnFailure(cause, attemptClock.Elapsed);
                        if (!decision.Restart)
                        {
                            _logger.LogError("Job '{Job}' is not restarted: {Reason}", plan.JobName, decision.GiveUpReason);
                            driver.Close(JobTermination.Failed);
                            throw;
                        }

                        TimeSpan wait = decision.Delay;

                        _logger.LogWarning(
                            "Job '{Job}' failed (attempt {Attempt}): {Message} -- restarting in {Delay} ms from the latest completed checkpoint",
                            plan.JobName, attempt + 1, cause.Message, (long)wait.TotalMilliseconds);
                        if (WaitHandle.WaitAny([abort.WaitHandle, stop.WaitHandle], wait) != WaitHandle.WaitTimeout)
                        {
                            driver.Close(JobTermination.Failed);
                            throw;
                        }
                    }
                    finally
                    {
                        if (attemptStateDirectory is not null)
                        {
                            State.Faster.FasterSpillStore.DeleteDirectory(attemptStateDirectory);
                        }
                    }
                }
            }
            finally
            {
                control?.JobEnded();
                driver?.Dispose();

                // The stores are scratch space: checkpoints are what survives a run.
                if (stateRunDirectory is not null)
                {
                    State.Faster.FasterSpillStore.DeleteDirectory(stateRunDirectory);
                }
            }
        }

        /// <summary>
        /// Reads the savepoint to start from, checks it fits the job (max parallelism, no orphaned
        /// state), and says in the log that it wins over the job's checkpoints.
        /// </summary>
        private RestoredCheckpoint ReadSavepoint(JobPlan plan, string directory, CheckpointCatalog catalog, bool allowNonRestoredState)
        {
            CompletedCheckpoint read;
            try
            {
                read = CheckpointCatalog.ReadSavepoint(directory);
            }
            catch (Exception ex) when (ex is CheckpointCorruptException or CheckpointStorageException or System.IO.IOException or UnauthorizedAccessException)
            {
                throw Refuse(plan, new CheckpointRestoreException($"Cannot start job '{plan.JobName}' from savepoint '{System.IO.Path.GetFullPath(directory)}': {ex.Message}", ex));
            }

            var savepoint = RestoredCheckpoint.FromSavepoint(read, directory, allowNonRestoredState);
            if (read.Metadata.JobName != plan.JobName)
            {
                _logger.LogWarning("Savepoint '{Directory}' was taken of job '{Other}'; job '{Job}' restores it by operator IDs.", savepoint.SavepointDirectory, read.Metadata.JobName, plan.JobName);
            }

            if (catalog.Retained.Count > 0)
            {
                _logger.LogInformation(
                    "Job '{Job}' starts from savepoint '{Directory}' as asked (--from-savepoint), not from its latest checkpoint {CheckpointId} in '{Checkpoints}'; later restarts of this run use this run's checkpoints.",
                    plan.JobName, savepoint.SavepointDirectory, catalog.Retained[^1].CheckpointId, catalog.Storage.GetLocation(catalog.JobName));
            }

            return savepoint;
        }

        /// <summary>
        /// Refuses (before any state is loaded) a restore that would drop state: operators in the
        /// savepoint or checkpoint that the job no longer has, unless <paramref name="allow"/>.
        /// </summary>
        private void CheckOrphanedState(JobPlan plan, RestoredCheckpoint restored, bool allow, string source)
        {
            CheckStateSchema(plan, restored, source);
            var present = new HashSet<string>(plan.Chains.SelectMany(c => c.Info.Operators).Select(o => o.Id), StringComparer.Ordinal);
            var orphans = restored.Metadata.Operators.Where(o => !present.Contains(o.OperatorId)).ToList();
            if (orphans.Count == 0)
            {
                return;
            }

            string list = string.Join("; ", orphans.Select(o =>
                $"'{o.OperatorId}' ({string.Join(", ", o.Subtasks.SelectMany(s => s.Files).Select(f => StateKindOf(f.Name)).Distinct(StringComparer.Ordinal).DefaultIfEmpty("no files"))} state)"));
            if (allow)
            {
                _logger.LogWarning("Job '{Job}' drops the state of operators it no longer has (--allow-non-restored-state), from {Source}: {Operators}", plan.JobName, source, list);
                return;
            }

            throw Refuse(plan, new CheckpointRestoreException(
                $"Job '{plan.JobName}' cannot restore {source}: it holds state of operators the job no longer has: {list}. " +
                "Give those operators back their IDs if they were renamed, or run with --allow-non-restored-state to drop that state."));
        }

        private static string StateKindOf(string fileName)
        {
            int dot = fileName.IndexOf('.', StringComparison.Ordinal);
            return dot < 0 ? fileName : fileName[..dot];
        }

        /// <summary>
        /// Refuses, before any state is loaded, a checkpoint or savepoint whose recorded state schema
        /// the job cannot read (a state's kind, key type or stored type changed, or a change its
        /// serialized layout cannot absorb). The build catches the same changes against a committed
        /// baseline (WEIR03xx); this is the check for a state directory the build never saw.
        /// </summary>
        private void CheckStateSchema(JobPlan plan, RestoredCheckpoint restored, string source)
        {
            if (restored.Metadata.StateManifest is not { } recorded || plan.StateManifest is not { } current)
            {
                return;
            }

            State.Schema.StateManifest written;
            try
            {
                written = State.Schema.StateManifest.FromJson(recorded);
            }
            catch (FormatException ex)
            {
                throw Refuse(plan, new CheckpointRestoreException($"Job '{plan.JobName}' cannot restore {source}: its recorded state schema cannot be read ({ex.Message}). It was written by a newer Weir, or the metadata is damaged."));
            }

            State.Schema.StateSchemaComparison comparison = State.Schema.StateSchemaCompatibility.Compare(written, current);
            if (!comparison.IsCompatible)
            {
                throw Refuse(plan, new CheckpointRestoreException(
                    $"Job '{plan.JobName}' cannot restore {source}: its state schema changed incompatibly since it was written. {comparison.Describe()} " +
                    "Restore it with the job version that wrote it, make the change compatible (docs/state-schema-evolution.md), or start without state (--fresh)."));
            }
        }

        private JobFailedException Refuse(JobPlan plan, CheckpointRestoreException reason)
        {
            _logger.LogError("{Message}", reason.Message);
            return new JobFailedException(plan.JobName, reason);
        }

        private JobResult RunAttempt(JobPlan plan, ExecutionOptions options, CancellationToken stop, CancellationToken abort, int jobParallelism, int[] parallelism, int maxParallelism, State.StateBackendOptions stateBackend, string? stateRunDirectory, CheckpointDriver? driver, RestoredCheckpoint? restored, int attempt, Stopwatch clock)
        {
            using var abortSource = CancellationTokenSource.CreateLinkedTokenSource(abort);
            using var stopSource = CancellationTokenSource.CreateLinkedTokenSource(stop, abortSource.Token);
            var failures = new List<Exception>();
            void Fail(Exception failure)
            {
                lock (failures)
                {
                    failures.Add(failure);
                }

                abortSource.Cancel();
            }

            // A chain with parallelism 1 whose only input comes from a chain with parallelism 1 runs on
            // its producer's thread (it gets whole batches by a direct call): no gate, no thread hop.
            var directEdge = new ExchangeEdge?[plan.Chains.Count];
            foreach (ChainVertex chain in plan.Chains)
            {
                ExchangeEdge[] inputs = plan.Edges.Where(e => e.To == chain.Info.Index).ToArray();
                if (chain is ExchangeVertex { InputCount: 1 } && inputs.Length == 1 && parallelism[chain.Info.Index] == 1 && parallelism[inputs[0].From] == 1)
                {
                    directEdge[chain.Info.Index] = inputs[0];
                }
            }

            var directClosers = new List<IDisposable>();

            // Gates: one per input of every subtask of every chain fed by exchanges (gates[chain][subtask][input]).
            var gates = new InputGate[plan.Chains.Count][][];
            foreach (ChainVertex chain in plan.Chains)
            {
                if (chain is ExchangeVertex exchange && directEdge[chain.Info.Index] is null)
                {
                    gates[chain.Info.Index] = Enumerable.Range(0, parallelism[chain.Info.Index])
                        .Select(_ => Enumerable.Range(0, exchange.InputCount)
                            .Select(input => exchange.CreateGate(input, options.GateCapacity, options.BatchSize, abortSource.Token))
                            .ToArray())
                        .ToArray();
                }
            }

            // Channels: every sender subtask of every incoming edge is one channel of the receiving gate.
            var channelOffset = new int[plan.Edges.Count];
            foreach (ExchangeEdge edge in plan.Edges.Where(e => directEdge[e.To] is null))
            {
                bool pointwise = IsPointwise(edge, parallelism);
                foreach (InputGate[] subtaskGates in gates[edge.To])
                {
                    InputGate gate = subtaskGates[edge.Input];
                    channelOffset[edge.Index] = gate.ChannelCount;
                    gate.ChannelCount += pointwise ? 1 : parallelism[edge.From];
                }
            }

            // Files a sink creates in this attempt carry its ID, so a restore can tell them from a failed attempt's.
            string attemptId = $"{DateTime.UtcNow:yyyyMMddHHmmss}{attempt:D2}{Guid.NewGuid().ToString("N")[..6]}";
            var checkpointers = new List<SubtaskCheckpointer>();
            var subtasks = new List<Subtask>();
            SubtaskContext CreateContext(ChainVertex chain, int subtaskIndex, SubtaskMailbox? mailbox)
            {
                int index = chain.Info.Index;
                SubtaskCheckpointer? checkpointer = null;
                Connectors.CheckpointParticipation? participation = null;
                if (driver is not null)
                {
                    checkpointer = new SubtaskCheckpointer(
                        driver,
                        new SubtaskId(index, subtaskIndex),
                        mailbox!,
                        chain is not ExchangeVertex,
                        parallelism[index],
                        KeyGroups.RangeOf(subtaskIndex, parallelism[index], maxParallelism),
                        chain.Info.IsKeyed);
                    participation = new Connectors.CheckpointParticipation(driver.Mode, attemptId, checkpointer.Register);
                    lock (checkpointers)
                    {
                        checkpointers.Add(checkpointer);
                    }
                }

                return new SubtaskContext(
                    plan.JobName,
                    chain.Info,
                    subtaskIndex,
                    parallelism[index],
                    maxParallelism,
                    stopSource.Token,
                    abortSource.Token,
                    _logger,
                    options.Clock ?? TimeProvider.System,
                    stateBackend,
                    stateRunDirectory,
                    edgeIndex =>
                    {
                        ExchangeEdge edge = plan.Edges[edgeIndex];
                        if (directEdge[edge.To] == edge)
                        {
                            // Runs on this thread, so it shares this thread's mail.
                            var (writer, closer) = ((ExchangeVertex)plan.Chains[edge.To]).CreateDirect(CreateContext(plan.Chains[edge.To], 0, mailbox), options.BatchSize);
                            lock (directClosers)
                            {
                                directClosers.Add(closer);
                            }

                            return writer;
                        }

                        return CreateWriter(plan, edgeIndex, index, subtaskIndex, parallelism, maxParallelism, gates, channelOffset);
                    },
                    checkpointer,
                    restored,
                    participation);
            }

            foreach (ChainVertex chain in plan.Chains)
            {
                int index = chain.Info.Index;
                if (directEdge[index] is not null)
                {
                    continue;
                }

                for (int i = 0; i < parallelism[index]; i++)
                {
                    subtasks.Add(chain.CreateSubtask(CreateContext(chain, i, driver is null ? null : new SubtaskMailbox()), gates[index]?[i]));
                }
            }

            if (attempt == 0)
            {
                _logger.LogInformation(
                    "Job '{Job}' starting: {Chains} chain(s), {Subtasks} subtask(s), parallelism {Parallelism}, max parallelism {MaxParallelism}",
                    plan.JobName, plan.Chains.Count, subtasks.Count, jobParallelism, maxParallelism);
                if (stateRunDirectory is not null)
                {
                    _logger.LogInformation(
                        "  state backend: FASTER in {Directory}, {Budget} MiB of log memory and {Keys} cached keys per keyed subtask",
                        stateRunDirectory, stateBackend.MemoryBudgetBytes >> 20, stateBackend.CachedKeys);
                }

                if (options.Checkpointing is { } checkpointing)
                {
                    _logger.LogInformation(
                        "  checkpoints: {Mode} every {Interval} into {Directory}",
                        checkpointing.Checkpoints.Mode,
                        checkpointing.Checkpoints.Interval is { } interval ? $"{interval.TotalMilliseconds} ms" : "(manual only)",
                        checkpointing.Directory);
                }

                foreach (ChainVertex chain in plan.Chains)
                {
                    _logger.LogInformation(
                        "  chain {Index}: {Name} x{Parallelism}{Direct}",
                        chain.Info.Index,
                        chain.Info.Name,
                        parallelism[chain.Info.Index],
                        directEdge[chain.Info.Index] is { } edge ? $" (on chain {edge.From}'s thread)" : string.Empty);
                }
            }

            bool completed = true;
            var threads = subtasks.Select(subtask => new Thread(() =>
            {
                try
                {
                    try
                    {
                        if (!subtask.Run())
                        {
                            Volatile.Write(ref completed, false);
                        }
                    }
                    finally
                    {
                        // Every kind of subtask has closed its chain by now; its state store goes here, once.
                        subtask.Context.ReleaseResources();
                    }
                }
                catch (OperationCanceledException) when (abortSource.IsCancellationRequested)
                {
                    Volatile.Write(ref completed, false);
                }
                catch (Exception ex)
                {
                    Fail(ex);
                }
            })
            {
                Name = $"weir: {subtask.Context}",
                IsBackground = true,
            }).ToList();

            Recovery.StallDetectionOptions stall = options.StallDetection ?? Recovery.StallDetectionOptions.Disabled;
            Recovery.SubtaskProgress? progress = null;
            if (stall.Enabled)
            {
                progress = new Recovery.SubtaskProgress(subtasks.Select(t => new SubtaskId(t.Context.Chain.Index, t.Context.SubtaskIndex)).ToArray());
                for (int i = 0; i < subtasks.Count; i++)
                {
                    subtasks[i].Context.TrackProgress(progress, i);
                }
            }

            driver?.StartAttempt(checkpointers, threads.Count, restored?.CheckpointId, Fail);
            threads.ForEach(t => t.Start());
            bool stalled = false;
            foreach (Thread thread in threads)
            {
                while (!thread.Join(progress is null ? Timeout.InfiniteTimeSpan : stall.CheckInterval))
                {
                    if (stalled)
                    {
                        break; // a thread stuck in user code cannot be stopped: it is left behind (it is a background thread)
                    }

                    if (progress!.FindStalled(progress.Now, stall.Timeout) is { } stuck)
                    {
                        Fail(new Recovery.SubtaskStalledException(stuck, stall.Timeout));
                        stalled = true;
                    }
                }
            }
            foreach (IDisposable closer in directClosers)
            {
                closer.Dispose();
            }

            if (failures.Count > 0)
            {
                Exception first = failures[0];
                _logger.LogError(first, "Job '{Job}' failed after {Elapsed} ms: {Message}", plan.JobName, clock.ElapsedMilliseconds, first.Message);
                throw new JobFailedException(plan.JobName, first);
            }

            completed &= !abortSource.IsCancellationRequested;
            _logger.LogInformation(
                "Job '{Job}' {Outcome} in {Elapsed} ms",
                plan.JobName, completed ? "finished" : "was aborted", clock.ElapsedMilliseconds);
            return new JobResult(plan.JobName, completed, clock.Elapsed, jobParallelism, maxParallelism);
        }

        private static bool IsPointwise(ExchangeEdge edge, int[] parallelism)
            => edge.Kind == ExchangeKind.Forward && parallelism[edge.From] == parallelism[edge.To];

        private static object CreateWriter(JobPlan plan, int edgeIndex, int fromChain, int subtask, int[] parallelism, int maxParallelism, InputGate[][][] gates, int[] channelOffset)
        {
            ExchangeEdge edge = plan.Edges[edgeIndex];
            if (edge.From != fromChain)
            {
                throw new InvalidOperationException($"Chain {fromChain} asked for edge {edgeIndex}, which leaves chain {edge.From}.");
            }

            var target = (ExchangeVertex)plan.Chains[edge.To];
            InputGate[] receivers = Array.ConvertAll(gates[edge.To], subtaskGates => subtaskGates[edge.Input]);
            if (IsPointwise(edge, parallelism))
            {
                return target.CreateWriter(edge.Input, new[] { receivers[subtask] }, ExchangeKind.Forward, channelOffset[edgeIndex], maxParallelism);
            }

            ExchangeKind kind = edge.Kind == ExchangeKind.Forward ? ExchangeKind.Rebalance : edge.Kind;
            return target.CreateWriter(edge.Input, receivers, kind, channelOffset[edgeIndex] + subtask, maxParallelism);
        }
    }
}
