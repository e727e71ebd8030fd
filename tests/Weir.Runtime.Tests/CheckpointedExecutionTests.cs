using System;
using System.IO;
using System.Linq;
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
}
