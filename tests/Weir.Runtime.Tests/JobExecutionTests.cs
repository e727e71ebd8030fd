using System;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Weir.Execution;
using Weir.State;
using Weir.State.Faster;
using Xunit;

namespace Weir.Runtime.Tests;

[Collection("static job outputs")]
public sealed class JobExecutionTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Keyed_reduce_aggregate_and_process_emit_running_results_per_key(int parallelism)
    {
        SumsJob.Reduced.Clear();
        SumsJob.Aggregated.Clear();
        SumsJob.Processed.Clear();
        const long records = 10_000;

        new LocalExecutor().Execute(SumsJob.CreatePlan(records), new ExecutionOptions(Parallelism: parallelism));

        Assert.Equal(records, SumsJob.Reduced.ToArray().Length);
        Assert.Equal(records, SumsJob.Aggregated.ToArray().Length);
        Assert.Equal(records, SumsJob.Processed.ToArray().Length);
        for (long sensor = 0; sensor < 100; sensor++)
        {
            long s = sensor;
            long[] values = Enumerable.Range(0, (int)records).Where(i => i % 100 == s).Select(i => (long)i).ToArray();
            long expectedTotal = values.Sum();

            // Every running result is emitted once, and the last is the key's total.
            Assert.Equal(expectedTotal, SumsJob.Reduced.ToArray().Where(r => r.Sensor == s).Max(r => r.Value));
            SensorTotal[] aggregated = SumsJob.Aggregated.ToArray().Where(r => r.Sensor == s).OrderBy(r => r.Count).ToArray();
            Assert.Equal(Enumerable.Range(1, values.Length).Select(i => (long)i), aggregated.Select(r => r.Count));
            Assert.Equal(expectedTotal, aggregated[^1].Total);
            SensorTotal[] processed = SumsJob.Processed.ToArray().Where(r => r.Sensor == s).OrderBy(r => r.Count).ToArray();
            Assert.Equal(Enumerable.Range(1, values.Length).Select(i => (long)i), processed.Select(r => r.Count));
            Assert.Equal(expectedTotal, processed[^1].Total);

            // With one source subtask every branch sees a key's records in the same order; with
            // several, their batches may interleave differently on each branch.
            if (parallelism == 1)
            {
                Assert.Equal(aggregated, processed);
            }
        }
    }

    [Fact]
    public void Keys_land_on_the_subtask_that_owns_their_key_group()
    {
        SumsJob.Processed.Clear();
        new LocalExecutor().Execute(SumsJob.CreatePlan(1000), new ExecutionOptions(Parallelism: 4, MaxParallelism: 16));
        for (int subtask = 0; subtask < 4; subtask++)
        {
            KeyGroupRange range = KeyGroups.RangeOf(subtask, 4, 16);
            foreach (SensorTotal total in SumsJob.Processed.OfSubtask(subtask))
            {
                Assert.True(range.Contains(KeyGroups.Of(StableHash.Of(total.Sensor), 16)));
            }
        }
    }

    [Fact]
    public void Union_rebalance_and_broadcast_deliver_every_record_the_right_number_of_times()
    {
        ExchangesJob.Unioned.Clear();
        ExchangesJob.Broadcasted.Clear();

        new LocalExecutor().Execute(ExchangesJob.CreatePlan(5000), new ExecutionOptions(Parallelism: 2));

        Assert.Equal(Enumerable.Range(0, 10_000).Select(i => i * 10L), ExchangesJob.Unioned.ToArray().OrderBy(x => x));

        // Rebalance spreads records over all three subtasks of the fixed-parallelism map.
        Assert.All(Enumerable.Range(0, 3), s => Assert.InRange(ExchangesJob.Unioned.OfSubtask(s).Length, 3000, 3700));

        // Broadcast: each of the three receiving subtasks sees every tick once.
        for (int s = 0; s < 3; s++)
        {
            Assert.Equal(Enumerable.Range(0, 10).Select(i => i * 2L), ExchangesJob.Broadcasted.OfSubtask(s));
        }
    }

    [Fact]
    public void Tuple_keys_are_hashed_stably_and_reduced_per_key()
    {
        CompositeKeyJob.Output.Clear();
        new LocalExecutor().Execute(CompositeKeyJob.CreatePlan(), new ExecutionOptions(Parallelism: 2));
        var finals = CompositeKeyJob.Output.ToArray().GroupBy(x => x.Item1).ToDictionary(g => g.Key, g => g.Max(x => x.Item2));
        Assert.Equal(3, finals["a"]);
        Assert.Equal(2, finals["b"]);
        Assert.Equal(1, finals["c"]);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Functions_may_emit_zero_one_or_many_records_per_input_in_order(int parallelism)
    {
        const long records = 2_000;
        FanOutJob.Output.Clear();

        JobResult result = new LocalExecutor().Execute(FanOutJob.CreatePlan(records), new ExecutionOptions(Parallelism: parallelism));

        Assert.True(result.Completed);
        var expected = new System.Collections.Generic.List<(long, long, int)>();
        for (long i = 0; i < records; i++)
        {
            for (long copy = 0; copy < i % 40; copy++)
            {
                for (int echo = 0; echo < i % 4; echo++)
                {
                    expected.Add((i % 100, i, echo));
                }
            }
        }

        // Every record arrives, and per key and source subtask (a contiguous range of values) in the
        // order it was emitted; records of different source subtasks may interleave.
        var output = FanOutJob.Output.ToArray();
        Assert.Equal(expected.Count, output.Length);
        long Split(long value) => value * parallelism / records;
        foreach (var group in expected.GroupBy(e => (e.Item1, Split(e.Item2))))
        {
            Assert.Equal(group.ToArray(), output.Where(o => (o.Key, Split(o.Value)) == group.Key).Select(o => (o.Key, o.Value, o.Copy)).ToArray());
        }
    }

    /// <summary>The FASTER backend as tests use it: 8 cached keys, so the job's 100 keys keep moving through the store.</summary>
    private static StateBackendOptions Backend(StateBackendKind kind) => kind == StateBackendKind.Heap
        ? StateBackendOptions.Heap
        : StateBackendOptions.Faster(Path.Combine(Path.GetTempPath(), "weir-test-state"), FasterBytesStore.MinimumMemoryBudgetBytes, cachedKeys: 8);

    [Theory]
    [InlineData(1, StateBackendKind.Heap)]
    [InlineData(2, StateBackendKind.Heap)]
    [InlineData(1, StateBackendKind.Faster)]
    [InlineData(2, StateBackendKind.Faster)]
    public void Every_keyed_state_kind_works_in_a_generated_operator(int parallelism, StateBackendKind backend)
    {
        const long records = 5_000;
        EveryStateKindJob.Output.Clear();

        new LocalExecutor().Execute(EveryStateKindJob.CreatePlan(records), new ExecutionOptions(Parallelism: parallelism, StateBackend: Backend(backend)));

        var output = EveryStateKindJob.Output.ToArray();
        Assert.Equal(records, output.Length);
        for (long sensor = 0; sensor < 100; sensor++)
        {
            long s = sensor;
            long[] values = Enumerable.Range(0, (int)records).Where(i => i % 100 == s).Select(i => (long)i).ToArray();
            var last = output.Where(o => o.Key == s).MaxBy(o => o.History);
            Assert.Equal(values.Length, last.History);
            Assert.Equal(values.Sum(), last.Sum);
            Assert.Equal(values.Average(), last.Average, 6);
            Assert.Equal(values.Select(v => v % 10).Distinct().Count(), last.Distinct);
            Assert.Equal(values.Length, last.Recent);
        }
    }

    [Fact]
    public void The_same_job_gives_identical_output_on_the_heap_and_FASTER_backends_and_leaves_no_state_files()
    {
        const long records = 20_000;
        EveryStateKindJob.Output.Clear();
        new LocalExecutor().Execute(EveryStateKindJob.CreatePlan(records), new ExecutionOptions(Parallelism: 1, StateBackend: Backend(StateBackendKind.Heap)));
        var heap = EveryStateKindJob.Output.ToArray();

        EveryStateKindJob.Output.Clear();
        string root = Path.Combine(Path.GetTempPath(), "weir-test-state-" + Guid.NewGuid().ToString("N"));
        new LocalExecutor().Execute(EveryStateKindJob.CreatePlan(records), new ExecutionOptions(Parallelism: 1, StateBackend: StateBackendOptions.Faster(root, FasterBytesStore.MinimumMemoryBudgetBytes, cachedKeys: 8)));
        var faster = EveryStateKindJob.Output.ToArray();

        Assert.Equal(records, heap.Length);
        Assert.Equal(heap, faster);
        Assert.Empty(Directory.EnumerateFileSystemEntries(root));
        Directory.Delete(root);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void An_exception_in_user_code_fails_the_job_naming_the_operator_and_the_record(int parallelism)
    {
        var error = Assert.Throws<JobFailedException>(() =>
            new LocalExecutor().Execute(FailingJob.CreatePlan(1_000_000), new ExecutionOptions(Parallelism: parallelism)));

        var failure = Assert.IsType<OperatorFailedException>(error.InnerException);
        Assert.Equal("explode-on-42", failure.Operator.Id);
        Assert.Contains("Process 'explode-on-42'", error.Message);
        Assert.Contains("sensor 42 is on fire", error.Message);
        Assert.Contains("Sensor = 42", failure.Record);
        if (parallelism == 1)
        {
            // One source subtask: the first failing record is exactly the one reported.
            Assert.Contains("Sensor = 42, Value = 1042", failure.Record);
        }
        Assert.IsType<InvalidOperationException>(failure.InnerException);
    }

    [Fact]
    public async Task Stopping_an_unbounded_job_drains_it_and_commits_a_consistent_prefix()
    {
        UnboundedJob.Output.Clear();
        using var stop = new CancellationTokenSource();
        Task<JobResult> run = Task.Run(() => new LocalExecutor().Execute(UnboundedJob.CreatePlan(), new ExecutionOptions(Parallelism: 2), stop.Token));
        await Task.Delay(300);
        stop.Cancel();

        JobResult result = await run.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(result.Completed);
        SensorTotal[] output = UnboundedJob.Output.ToArray();
        Assert.NotEmpty(output);

        // Per key, the committed counts are exactly 1..k: nothing lost or duplicated before the stop.
        foreach (var key in output.GroupBy(o => o.Sensor))
        {
            Assert.Equal(Enumerable.Range(1, key.Count()).Select(i => (long)i), key.Select(o => o.Count).OrderBy(c => c));
        }
    }

    [Fact]
    public async Task Aborting_stops_every_subtask_without_committing()
    {
        UnboundedJob.Output.Clear();
        using var abort = new CancellationTokenSource();
        Task<JobResult> run = Task.Run(() => new LocalExecutor().Execute(UnboundedJob.CreatePlan(), new ExecutionOptions(Parallelism: 2), abort: abort.Token));
        await Task.Delay(200);
        abort.Cancel();

        JobResult result = await run.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.False(result.Completed);
        Assert.Empty(UnboundedJob.Output.ToArray());
    }

    [Fact]
    public void Tiny_gates_apply_backpressure_without_losing_or_reordering_records()
    {
        SumsJob.Processed.Clear();
        SumsJob.Reduced.Clear();
        SumsJob.Aggregated.Clear();

        new LocalExecutor().Execute(SumsJob.CreatePlan(20_000), new ExecutionOptions(Parallelism: 2, GateCapacity: 1, BatchSize: 3));

        Assert.Equal(20_000, SumsJob.Processed.ToArray().Length);
        foreach (var key in SumsJob.Processed.ToArray().GroupBy(o => o.Sensor))
        {
            // Emitted in order within the owning subtask.
            Assert.Equal(Enumerable.Range(1, key.Count()).Select(i => (long)i), key.Select(o => o.Count));
        }
    }

    [Fact]
    public void A_parallelism_above_the_max_parallelism_is_refused_with_a_clear_error()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() =>
            new LocalExecutor().Execute(SumsJob.CreatePlan(10), new ExecutionOptions(Parallelism: 8, MaxParallelism: 4)));
        Assert.Contains("max parallelism 4", error.Message);
    }

    [Fact]
    public void Pipeline_definitions_are_never_executed()
    {
        var error = Assert.Throws<System.Reflection.TargetInvocationException>(() => DefinitionProbe.Call());
        Assert.IsType<InvalidOperationException>(error.InnerException);
        Assert.Contains("Weir.Generator", error.InnerException!.Message);
    }

    private static class DefinitionProbe
    {
        public static void Call() => typeof(PipelineBuilder)
            .GetMethod(nameof(PipelineBuilder.Parallelism))!
            .Invoke(System.Runtime.CompilerServices.RuntimeHelpers.GetUninitializedObject(typeof(PipelineBuilder)), new object[] { 1 });
    }
}
