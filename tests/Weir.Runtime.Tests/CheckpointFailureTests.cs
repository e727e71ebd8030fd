using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using Microsoft.Extensions.Logging;
using Weir.Checkpointing.Coordinator;
using Weir.Checkpointing.Storage;
using Weir.Checkpointing.Subtasks;
using Weir.Execution;
using Weir.Recovery;
using WordCount;
using Xunit;

namespace Weir.Runtime.Tests;

/// <summary>
/// Failures injected at every stage of a checkpoint, and in user code, while WordCount runs in this
/// process with exactly-once checkpoints: each time the job restarts from the latest completed
/// checkpoint and the committed output still satisfies the contract ("w 1" .. "w n", each once).
/// </summary>
[Collection("static job outputs")]
public sealed class CheckpointFailureTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "weir-ckfail-" + Guid.NewGuid().ToString("N"));
    private readonly string _input;
    private readonly string _output;
    private readonly string _checkpoints;

    public CheckpointFailureTests()
    {
        _input = Path.Combine(_root, "in");
        _output = Path.Combine(_root, "out");
        _checkpoints = Path.Combine(_root, "checkpoints");
        WordCountContractTests.WriteCorpus(_input, files: 2, linesPerFile: 2500, seed: 11);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void A_failure_in_user_code_restarts_from_the_latest_checkpoint(int parallelism)
    {
        FlakyWordCountJob.FailAtWord(15_000);
        var logger = new RecordingLogger();

        JobResult result = new LocalExecutor(logger).Execute(
            FlakyWordCountJob.CreatePlan(_input, _output, 10_000),
            Options(parallelism, faults: null));

        Assert.True(result.Completed);
        Assert.Single(logger.Lines, l => l.Level == LogLevel.Warning && l.Message.Contains("injected failure", StringComparison.Ordinal) && l.Message.Contains("restarting", StringComparison.Ordinal));
        AssertContract();
    }

    [Theory]
    [InlineData(Stage.SyncPhase, 1)]
    [InlineData(Stage.SyncPhase, 2)]
    [InlineData(Stage.AsyncPhase, 1)]
    [InlineData(Stage.AsyncPhase, 2)]
    [InlineData(Stage.BeforeMetadata, 2)]
    [InlineData(Stage.BetweenPreCommitAndCommit, 1)]
    [InlineData(Stage.BetweenPreCommitAndCommit, 2)]
    public void A_failure_at_a_checkpoint_stage_restarts_and_output_stays_exactly_once(Stage stage, int parallelism)
    {
        var faults = new InjectedFaults(stage, fromCheckpoint: 2, times: 1);

        JobResult result = new LocalExecutor().Execute(WordCountJob.CreatePlan(_input, _output, 10_000), Options(parallelism, faults));

        Assert.True(result.Completed);
        Assert.Equal(1, faults.Fired);
        AssertContract();
    }

    [Fact]
    public void Failing_twice_before_the_next_checkpoint_restores_the_same_checkpoint_twice()
    {
        // The first two checkpoints after checkpoint 1 fail in their synchronous phase: the first
        // restart restores checkpoint 1, and so does the second.
        var faults = new InjectedFaults(Stage.SyncPhase, fromCheckpoint: 2, times: 2);
        var logger = new RecordingLogger();

        JobResult result = new LocalExecutor(logger).Execute(WordCountJob.CreatePlan(_input, _output, 10_000), Options(2, faults));

        Assert.True(result.Completed);
        Assert.Equal(2, faults.Fired);
        string[] resumed = logger.Lines.Where(l => l.Message.Contains("resumes from checkpoint", StringComparison.Ordinal)).Select(l => l.Message).ToArray();
        Assert.Equal(2, resumed.Length);
        Assert.Equal(resumed[0], resumed[1]);
        AssertContract();
    }

    [Fact]
    public void A_corrupt_latest_checkpoint_falls_back_to_the_previous_one_with_one_log_line()
    {
        // A first run stopped half-way keeps two checkpoints; the newest one's state file is damaged.
        var options = Options(1, faults: null) with { };
        options = options with { Checkpointing = options.Checkpointing! with { Retention = new CheckpointRetention { RetainedCheckpoints = 2 } } };
        using (var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(1500)))
        {
            Assert.True(new LocalExecutor().Execute(WordCountJob.CreatePlan(_input, _output, 2_000), options, stop.Token).Completed);
        }

        CheckpointCatalog catalog = CheckpointCatalog.Open(new LocalCheckpointStorage(_checkpoints), WordCountJob.JobName);
        Assert.Equal(2, catalog.Retained.Count);
        CompletedCheckpoint newest = catalog.Retained[^1];
        string damaged = newest.Metadata.Operators.SelectMany(o => o.Subtasks).SelectMany(s => s.Files).First(f => !CheckpointLayout.IsShared(f.File.Path)).File.Path;
        byte[] bytes = File.ReadAllBytes(Path.Combine(_checkpoints, WordCountJob.JobName, damaged));
        bytes[bytes.Length / 2] ^= 0xFF;
        File.WriteAllBytes(Path.Combine(_checkpoints, WordCountJob.JobName, damaged), bytes);

        var logger = new RecordingLogger();
        Assert.True(new LocalExecutor(logger).Execute(WordCountJob.CreatePlan(_input, _output, 10_000), options).Completed);

        (LogLevel Level, string Message) fallback = Assert.Single(logger.Lines, l => l.Message.Contains("is skipped for recovery", StringComparison.Ordinal));
        Assert.Equal(LogLevel.Warning, fallback.Level);
        Assert.Contains($"Checkpoint {newest.CheckpointId} ", fallback.Message, StringComparison.Ordinal);
        Assert.Contains(Path.GetFileName(damaged), fallback.Message, StringComparison.Ordinal);
        Assert.Contains($"Recovering from checkpoint {catalog.Retained[0].CheckpointId} instead", fallback.Message, StringComparison.Ordinal);
    }

    private ExecutionOptions Options(int parallelism, ICheckpointFaults? faults)
        => new(
            Parallelism: parallelism,
            Checkpointing: new CheckpointingOptions(
                _checkpoints,
                new CheckpointOptions { Interval = TimeSpan.FromMilliseconds(40) },
                Restart: new FixedDelayRestartOptions { Attempts = 5, Delay = TimeSpan.FromMilliseconds(10) },
                Faults: faults));

    private void AssertContract()
        => WordCountContractTests.AssertContract(WordCountContractTests.ExpectedCounts(WordCountContractTests.TextFilesOf(_input)), _output);

    public enum Stage
    {
        SyncPhase,
        AsyncPhase,
        BeforeMetadata,
        BetweenPreCommitAndCommit,
    }

    /// <summary>
    /// Throws at one stage of the first <paramref name="times"/> checkpoints from
    /// <paramref name="fromCheckpoint"/> on that reach it, once per checkpoint (on its first subtask to get there).
    /// </summary>
    private sealed class InjectedFaults(Stage stage, long fromCheckpoint, int times) : ICheckpointFaults
    {
        private readonly HashSet<long> _failed = [];
        private int _fired;

        public int Fired => Volatile.Read(ref _fired);

        public void DuringSyncPhase(SubtaskId subtask, long checkpointId) => MaybeThrow(Stage.SyncPhase, checkpointId);

        public void AfterSyncPhase(SubtaskId subtask, long checkpointId)
        {
        }

        public void DuringAsyncPhase(SubtaskId subtask, long checkpointId) => MaybeThrow(Stage.AsyncPhase, checkpointId);

        public void BeforeMetadata(long checkpointId) => MaybeThrow(Stage.BeforeMetadata, checkpointId);

        public void BeforeNotifyComplete(long checkpointId) => MaybeThrow(Stage.BetweenPreCommitAndCommit, checkpointId);

        private void MaybeThrow(Stage at, long checkpointId)
        {
            if (at != stage)
            {
                return;
            }

            lock (_failed)
            {
                if (checkpointId < fromCheckpoint || _failed.Count == times || !_failed.Add(checkpointId))
                {
                    return;
                }
            }

            Interlocked.Increment(ref _fired);
            throw new IOException($"injected failure at {at} of checkpoint {checkpointId}");
        }
    }
}
