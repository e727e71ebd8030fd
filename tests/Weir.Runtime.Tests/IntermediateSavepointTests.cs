using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Weir.Checkpointing.Coordinator;
using Weir.Control;
using Weir.Execution;
using Weir.Recovery;
using Weir.State;
using Xunit;

namespace Weir.Runtime.Tests;

/// <summary>
/// A savepoint taken while the job goes on commits no side effects (Flink since 1.15): it is never
/// used for recovery, so output it committed would be written again by a restart from the checkpoint
/// before it. Here no checkpoint precedes it (periodic checkpoints are far apart): the job fails
/// right after the savepoint and restarts from the beginning; every window is still committed once.
/// </summary>
[Collection("event time jobs")]
public sealed class IntermediateSavepointTests : IDisposable
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(60);

    // Short: the control socket's path must stay under ~100 bytes.
    private readonly string _root = Path.Combine(Path.GetTempPath(), "wis-" + Guid.NewGuid().ToString("N")[..12]);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    [Fact]
    public async Task A_failure_after_an_intermediate_savepoint_repeats_no_output()
    {
        string output = Path.Combine(_root, "out");
        string checkpoints = Path.Combine(_root, "chk");
        string target = Path.Combine(_root, "sp");
        var logger = new RecordingLogger();

        // The first record after a completed checkpoint or savepoint fails the job; until then the
        // input is slowed down (2 ms a record), so the savepoint is taken while it runs.
        EventTimeFaults.Arm(1);
        Task<JobResult> run = Task.Factory.StartNew(
            () => new LocalExecutor(logger).Execute(EventTimeTumblingSumsJob.CreatePlan(output), Options(checkpoints)),
            TaskCreationOptions.LongRunning);
        var client = new JobControlClient(checkpoints, EventTimeTumblingSumsJob.JobName) { Timeout = s_wait };
        string savepoint = TriggerWhenListening(client, target, run);

        JobResult result = await run.WaitAsync(s_wait);
        Assert.True(result.Completed);
        Assert.True(EventTimeFaults.Fired, "the failure after the savepoint did not fire");
        Assert.Contains(logger.Lines, l => l.Level == LogLevel.Warning && l.Message.Contains("injected event-time failure", StringComparison.Ordinal));
        Assert.DoesNotContain(logger.Lines, l => l.Message.Contains("resumes from checkpoint", StringComparison.Ordinal));
        EventTimeWindowCheckpointingTests.AssertWindows(
            EventTimeWindowCheckpointingTests.Expected(EventTimeWindowCheckpointingTests.Kind.Tumbling),
            WordCountContractTests.OutputLines(output).Select(WindowSum.Parse).ToList());
        Assert.True(Directory.Exists(savepoint));
    }

    private static string TriggerWhenListening(JobControlClient client, string target, Task<JobResult> run)
    {
        DateTime deadline = DateTime.UtcNow + s_wait;
        while (true)
        {
            try
            {
                return client.TriggerSavepoint(target);
            }
            catch (JobControlException) when (DateTime.UtcNow < deadline && !run.IsCompleted)
            {
                // The job has not opened its control endpoint yet.
                System.Threading.Thread.Sleep(20);
            }
        }
    }

    private static ExecutionOptions Options(string checkpoints)
        => new(
            Parallelism: 2,
            MaxParallelism: 128,
            StateBackend: StateBackendOptions.Heap,
            Checkpointing: new CheckpointingOptions(
                checkpoints,
                new CheckpointOptions { Interval = TimeSpan.FromMinutes(10) },
                Restart: new FixedDelayRestartOptions { Attempts = 3, Delay = TimeSpan.FromMilliseconds(10) },
                Faults: new EventTimeFaults.CompletionProbe()));
}
