using System;
using System.IO;
using System.Linq;
using System.Threading;
using Weir.Checkpointing.Coordinator;
using Weir.Checkpointing.Storage;
using Weir.Execution;
using Xunit;

namespace Weir.Runtime.Tests;

/// <summary>Jobs run with checkpoints through the executor: barriers, snapshots, completion, the final checkpoint.</summary>
[Collection("static job outputs")]
public sealed class CheckpointedExecutionTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "weir-ckexec-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void A_job_with_checkpoints_finishes_with_a_final_checkpoint_that_is_kept(int parallelism)
    {
        ExchangesJob.Unioned.Clear();
        ExchangesJob.Broadcasted.Clear();
        var checkpointing = new CheckpointingOptions(_root, new CheckpointOptions { Interval = TimeSpan.FromMilliseconds(20) });

        JobResult result = new LocalExecutor().Execute(ExchangesJob.CreatePlan(200_000), new ExecutionOptions(Parallelism: parallelism, Checkpointing: checkpointing));

        Assert.True(result.Completed);
        CheckpointCatalog catalog = CheckpointCatalog.Open(new LocalCheckpointStorage(_root), ExchangesJob.JobName);
        CompletedCheckpoint final = Assert.Single(catalog.Retained);
        Assert.True(File.Exists(Path.Combine(_root, ExchangesJob.JobName, "checkpoint-stats.json")));
        CheckpointStatistics statistics = CheckpointStatistics.FromJson(File.ReadAllText(Path.Combine(_root, ExchangesJob.JobName, "checkpoint-stats.json")));
        Assert.Equal(final.CheckpointId, statistics.LatestCompleted!.Id);
        Assert.Equal(statistics.LatestCompleted.TotalSubtasks, statistics.LatestCompleted.AcknowledgedSubtasks);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void A_stopped_job_resumes_its_sources_and_keyed_state_from_its_final_checkpoint(int parallelism)
    {
        var checkpointing = new CheckpointingOptions(_root, new CheckpointOptions { Interval = TimeSpan.FromMilliseconds(30) });
        var options = new ExecutionOptions(Parallelism: parallelism, Checkpointing: checkpointing);
        var all = new System.Collections.Generic.List<SensorTotal>();
        for (int run = 0; run < 3; run++)
        {
            UnboundedJob.Output.Clear();
            using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(400));
            JobResult result = new LocalExecutor().Execute(UnboundedJob.CreatePlan(), options, stop.Token);
            Assert.True(result.Completed);
            SensorTotal[] output = UnboundedJob.Output.ToArray();
            Assert.NotEmpty(output);
            all.AddRange(output);
        }

        // Sensor s gets values s, s + 100, s + 200, ... from one source subtask, in order; across the
        // three runs its running count goes 1, 2, ..., n once each and its totals follow.
        foreach (IGrouping<long, SensorTotal> sensor in all.GroupBy(t => t.Sensor))
        {
            long s = sensor.Key;
            SensorTotal[] ordered = sensor.OrderBy(t => t.Count).ToArray();
            for (int i = 0; i < ordered.Length; i++)
            {
                long c = i + 1;
                Assert.Equal(c, ordered[i].Count);
                Assert.Equal((c * s) + (100 * c * (c - 1) / 2), ordered[i].Total);
            }
        }
    }

    [Fact]
    public async System.Threading.Tasks.Task A_second_run_of_the_job_on_the_same_checkpoint_directory_is_refused()
    {
        var options = new ExecutionOptions(Parallelism: 1, Checkpointing: new CheckpointingOptions(_root, new CheckpointOptions { Interval = TimeSpan.FromMilliseconds(50) }));
        using var stop = new CancellationTokenSource();
        using var started = new ManualResetEventSlim();
        System.Threading.Tasks.Task<JobResult> first = System.Threading.Tasks.Task.Run(() =>
        {
            started.Set();
            return new LocalExecutor().Execute(UnboundedJob.CreatePlan(), options, stop.Token);
        });
        started.Wait();
        Thread.Sleep(300);

        CheckpointStorageException refused = Assert.Throws<CheckpointStorageException>(() => new LocalExecutor().Execute(UnboundedJob.CreatePlan(), options));

        Assert.Contains("Another process is running job 'unbounded'", refused.Message, StringComparison.Ordinal);
        stop.Cancel();
        Assert.True((await first).Completed);
    }

    [Fact]
    public void A_subtask_stuck_in_user_code_beyond_the_stall_timeout_fails_the_job_naming_it()
    {
        StallingJob.Release.Reset();
        try
        {
            var options = new ExecutionOptions(Parallelism: 1, StallDetection: Weir.Recovery.StallDetectionOptions.After(TimeSpan.FromMilliseconds(300)));

            JobFailedException failed = Assert.Throws<JobFailedException>(() => new LocalExecutor().Execute(StallingJob.CreatePlan(10_000), options));

            Weir.Recovery.SubtaskStalledException stalled = Assert.IsType<Weir.Recovery.SubtaskStalledException>(failed.InnerException);
            Assert.Equal(0, stalled.Stalled.Subtask.Chain);
            Assert.True(stalled.Stalled.BusyFor >= TimeSpan.FromMilliseconds(300));
        }
        finally
        {
            StallingJob.Release.Set(); // lets the abandoned thread finish
        }
    }

    [Fact]
    public void A_checkpoint_whose_state_schema_changed_incompatibly_is_refused_before_any_state_loads()
    {
        var options = new ExecutionOptions(Parallelism: 1, Checkpointing: new CheckpointingOptions(_root, new CheckpointOptions { Interval = TimeSpan.FromMilliseconds(50) }));
        using (var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(400)))
        {
            Assert.True(new LocalExecutor().Execute(SchemaV1Job.CreatePlan(), options, stop.Token).Completed);
        }

        JobFailedException refused = Assert.Throws<JobFailedException>(() => new LocalExecutor().Execute(SchemaV2Job.CreatePlan(), options));

        Weir.Checkpointing.Subtasks.CheckpointRestoreException reason = Assert.IsType<Weir.Checkpointing.Subtasks.CheckpointRestoreException>(refused.InnerException);
        Assert.Contains("state schema changed incompatibly", reason.Message, StringComparison.Ordinal);
        Assert.Contains("counter", reason.Message, StringComparison.Ordinal);
        Assert.Contains("count", reason.Message, StringComparison.Ordinal);

        // The same job version still resumes.
        using var again = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        Assert.True(new LocalExecutor().Execute(SchemaV1Job.CreatePlan(), options, again.Token).Completed);
    }
}
