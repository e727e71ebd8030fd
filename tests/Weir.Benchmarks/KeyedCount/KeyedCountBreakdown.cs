using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Weir.Execution;
using Weir.State;

namespace Weir.Benchmarks.KeyedCount;

/// <summary>
/// <c>keyed-count-breakdown</c>: single-threaded loops that add one piece of Weir's per-record work at
/// a time to the hand-written loop (hashing to a key group, the state table and ValueState, the
/// collector and sink), then the full job at parallelism 1. The differences between
/// consecutive rows estimate what each piece costs without a profiler. Diagnostic only: it is not part
/// of the benchmark contract.
/// </summary>
public static class KeyedCountBreakdown
{
    private const int MaxParallelism = 128; // Weir's default for parallelism 1 and 2.

    // Read at run time, as generated code reads it from its context, so the JIT cannot turn the key
    // group's modulo into a mask.
    private static int s_maxParallelism = MaxParallelism;

    private sealed record Step(string Name, Func<long, long, long> Run, bool SumsValues = false);

    /// <summary>Runs every step <c>--repeat</c> times (interleaved) and prints the medians.</summary>
    public static int Run(KeyedCountOptions options)
    {
        var steps = new List<Step>
        {
            new("1 loop: Dictionary<long,long> (variant a)", (n, k) => KeyedCountBenchmark.RunLoop(n, k).CountSum),
            new("2 + StableHash.Of + KeyGroups.Of (what a hash exchange with 2+ receivers adds)", HashedLoop),
            new("3 1 + KeyedStateTable.TrySelect + ValueState get/set (as emitted)", StateTableLoop),
            new("4 3 + ProcessContext, Collector, checksum writer (the chain body)", ChainBodyLoop),
            new("5 Weir job, parallelism 1", (n, k) => KeyedCountBenchmark.RunWeir(n, k, 1, checksum: true)!.Value.CountSum),
            new("6 Weir job, parallelism 1, exchange batches of 8192", (n, k) => RunWeirBatch(n, k, 8192)),
            new("7 no key: source -> rebalance -> sum sink, p=1", RunExchangeOnly, SumsValues: true),
        };

        Checksum expected = KeyedCountBenchmark.Expected(options.Records, options.Keys);
        foreach (Step step in steps)
        {
            long warm = Math.Min(options.WarmupRecords, options.Records);
            if (warm > 0)
            {
                step.Run(warm, options.Keys);
            }
        }

        var times = steps.ToDictionary(s => s, _ => new List<double>());
        bool ok = true;
        for (int r = 1; r <= options.Repeat; r++)
        {
            foreach (Step step in steps)
            {
                GC.Collect();
                long start = Stopwatch.GetTimestamp();
                long sum = step.Run(options.Records, options.Keys);
                double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
                times[step].Add(seconds);
                Console.Error.WriteLine($"  run {r}/{options.Repeat} {step.Name}: {seconds:F3} s");
                if (sum != (step.SumsValues ? ValueSum(options.Records) : expected.CountSum))
                {
                    Console.Error.WriteLine($"  OUTPUT MISMATCH in {step.Name}: checksum {sum}");
                    ok = false;
                }
            }
        }

        Console.WriteLine();
        Console.WriteLine($"keyed-count-breakdown: {options.Records:N0} records, {options.Keys:N0} keys, median of {options.Repeat}; single-threaded unless noted");
        Console.WriteLine();
        Console.WriteLine("| step | median time | ns/record | records/s | ratio vs step 1 |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        double baseline = Median(times[steps[0]]);
        foreach (Step step in steps)
        {
            double t = Median(times[step]);
            Console.WriteLine($"| {step.Name} | {t:F3} s | {t * 1e9 / options.Records:F1} | {options.Records / t / 1e6:F2} M | {baseline / t:F2} |");
        }

        return ok ? 0 : 1;
    }

    private static double Median(List<double> values) => Medians.Of(values);

    private static long ValueSum(long records) => unchecked(records * (records - 1) / 2);

    private static long RunExchangeOnly(long records, long keys)
    {
        ClickSumSink.Reset();
        JobResult result = new LocalExecutor().Execute(ExchangeOnlyJob.CreatePlan(records, keys), new ExecutionOptions(Parallelism: 1));
        return result.Completed ? ClickSumSink.Total : throw new InvalidOperationException("The Weir run did not complete.");
    }

    private static long RunWeirBatch(long records, long keys, int batchSize)
    {
        ChecksumSink.Reset();
        JobResult result = new LocalExecutor().Execute(
            KeyedCountCheckedJob.CreatePlan(records, keys),
            new ExecutionOptions(Parallelism: 1, BatchSize: batchSize));
        return result.Completed ? ChecksumSink.Total.CountSum : throw new InvalidOperationException("The Weir run did not complete.");
    }

    /// <summary>Step 2: the loop, plus the key-group computation a hash exchange does to route a record.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static long HashedLoop(long records, long keys)
    {
        var generator = new ClickGenerator(keys);
        var counts = new Dictionary<long, long>();
        int maxParallelism = s_maxParallelism;
        long countSum = 0;
        long groups = 0;
        for (long i = 0; i < records; i++)
        {
            Click click = generator.Generate(i);
            groups += KeyGroups.Of(StableHash.Of(click.Key), maxParallelism);
            ref long count = ref CollectionsMarshal.GetValueRefOrAddDefault(counts, click.Key, out _);
            count++;
            countSum += count;
        }

        GC.KeepAlive(groups);
        return countSum;
    }

    /// <summary>Step 3: Weir's state table (one key -> slot map) and a ValueState column, as emitted.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static long StateTableLoop(long records, long keys)
    {
        var generator = new ClickGenerator(keys);
        var table = new KeyedStateTable<long>("count", KeyGroups.RangeOf(0, 1, MaxParallelism), MemoryPackStateSerializer<long>.Instance);
        ValueState<long> state = table.Value<long>(new StateDescriptor("count", KeyedStateKind.Value, "ValueState<long>"), MemoryPackStateSerializer<long>.Instance);
        int maxParallelism = s_maxParallelism;
        long countSum = 0;
        for (long i = 0; i < records; i++)
        {
            Click click = generator.Generate(i);
            long key = click.Key;
            if (!table.TrySelect(in key))
            {
                table.SelectNew(KeyGroups.Of(StableHash.Of(key), maxParallelism), in key);
            }

            long count = state.Value + 1;
            state.Value = count;
            countSum += count;
        }

        return countSum;
    }

    /// <summary>Step 4: what the generated chain body does per record (the function inlined), minus the exchange.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static long ChainBodyLoop(long records, long keys)
    {
        var generator = new ClickGenerator(keys);
        var table = new KeyedStateTable<long>("count", KeyGroups.RangeOf(0, 1, MaxParallelism), MemoryPackStateSerializer<long>.Instance);
        ValueState<long> state = table.Value<long>(new StateDescriptor("count", KeyedStateKind.Value, "ValueState<long>"), MemoryPackStateSerializer<long>.Instance);
        var context = new ProcessContext<long>();
        var overflow = new CollectorBuffer<KeyCount>();
        var sink = new ChecksumSink();
        ChecksumSink.Reset();
        ChecksumWriter writer = sink.CreateWriter(new Weir.Connectors.SinkContext("out", 0, 1));
        int maxParallelism = s_maxParallelism;
        for (long i = 0; i < records; i++)
        {
            Click click = generator.Generate(i);
            long key = click.Key;
            if (!table.TrySelect(in key))
            {
                table.SelectNew(KeyGroups.Of(StableHash.Of(key), maxParallelism), in key);
            }

            context.SetCurrentKey(in key);
            var output = new Collector<KeyCount>(overflow);
            long count = state.Value + 1;
            state.Value = count;
            output.Collect(new KeyCount(click.Key, count));
            if (output.Count != 0)
            {
                writer.Write(in output.First);
                ReadOnlySpan<KeyCount> more = output.Overflow;
                for (int j = 0; j < more.Length; j++)
                {
                    writer.Write(in more[j]);
                }
            }
        }

        writer.Finish();
        return ChecksumSink.Total.CountSum;
    }
}
