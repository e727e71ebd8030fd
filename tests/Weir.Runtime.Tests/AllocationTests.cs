using Weir.Execution;
using Xunit;

namespace Weir.Runtime.Tests;

public sealed class AllocationTests
{
    [Fact]
    public void The_warmed_up_map_filter_keyby_process_chain_allocates_nothing_per_record()
    {
        JobResult result = new LocalExecutor().Execute(AllocationProbeJob.CreatePlan(), new ExecutionOptions(Parallelism: 1));

        Assert.True(result.Completed);
        Assert.Equal(AllocationProbeJob.Records, AllocationProbeSink.Received);

        // Source thread: generate -> map -> filter -> key-by exchange (1.5M records after warm-up).
        long sourceBytes = AllocationProbeJob.SourceBytesAtEnd - AllocationProbeJob.SourceBytesAtWarm;

        // Keyed side: key lookup -> process with two value states -> sink (at parallelism 1 it runs on
        // the source thread, fed batch by batch; the probe measures that thread).
        long sinkBytes = AllocationProbeSink.SinkBytesAtEnd - AllocationProbeSink.SinkBytesAtWarm;

        Assert.True(AllocationProbeJob.SourceBytesAtWarm > 0 && AllocationProbeSink.SinkBytesAtWarm > 0, "the probes did not run");
        Assert.Equal(0, sourceBytes);
        Assert.Equal(0, sinkBytes);
    }
}
