using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using Weir.Benchmarks.KeyedCount;
using Weir.Execution;
using Weir.State;

namespace Weir.Benchmarks.StateBackends;

/// <summary>Command-line options of <c>state-backends</c>.</summary>
public sealed record StateBackendsOptions(long Records, long MapRecords, long Keys, long Users, int Pages, int Repeat, long MemoryBudgetBytes)
{
    /// <summary>Parses <c>[--records N] [--map-records M] [--keys K] [--users U] [--pages P] [--repeat R] [--state-memory-mib M]</c>.</summary>
    public static StateBackendsOptions Parse(ReadOnlySpan<string> args)
    {
        long records = 100_000_000, mapRecords = 10_000_000, keys = 100_000, users = 10_000, memoryMiB = 64;
        int pages = 50, repeat = 3;
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            if (i + 1 >= args.Length)
            {
                throw new ArgumentException($"Option '{name}' needs a value.");
            }

            string value = args[++i];
            switch (name)
            {
                case "--records": records = KeyedCountOptions.ParseCount(name, value, min: 1); break;
                case "--map-records": mapRecords = KeyedCountOptions.ParseCount(name, value, min: 1); break;
                case "--keys": keys = KeyedCountOptions.ParseCount(name, value, min: 1); break;
                case "--users": users = KeyedCountOptions.ParseCount(name, value, min: 1); break;
                case "--pages": pages = checked((int)KeyedCountOptions.ParseCount(name, value, min: 1)); break;
                case "--repeat": repeat = checked((int)KeyedCountOptions.ParseCount(name, value, min: 1)); break;
                case "--state-memory-mib": memoryMiB = KeyedCountOptions.ParseCount(name, value, min: 4); break;
                default: throw new ArgumentException($"Unknown option '{name}'.");
            }
        }

        return new StateBackendsOptions(records, mapRecords, keys, users, pages, repeat, memoryMiB << 20);
    }
}

/// <summary>
/// The state backends side by side with hand-written loops, in one process: a keyed count (ValueState)
/// and a per-user page count (MapState), each as a loop, on the heap backend and on the FASTER backend
/// with a small key cache (most records miss it) and with a cache that holds every key. Runs are
/// interleaved and checksum-verified; the table gives records/s, the ratio to the loop of the same
/// workload, and the peak growth of the process's resident memory during the run.
/// </summary>
public static class StateBackendsBenchmark
{
    /// <summary>One measured variant; <paramref name="Records"/> per run (the variants that miss the FASTER cache on every record run a tenth).</summary>
    private sealed record Variant(string Workload, string Name, long Records, Func<long, object> Run, Func<long, object> Expected);

    private sealed record Sample(TimeSpan Time, long PeakRssGrowthBytes);

    public static int Run(StateBackendsOptions options)
    {
        string stateRoot = Path.Combine(Path.GetTempPath(), "weir-bench-state");
        StateBackendOptions Faster(int cachedKeys) => StateBackendOptions.Faster(stateRoot, options.MemoryBudgetBytes, cachedKeys);
        int smallCache = (int)Math.Max(1, options.Keys / 10);
        int smallUserCache = (int)Math.Max(1, options.Users / 10);
        long keys = options.Keys, users = options.Users;
        int pages = options.Pages;

        long n = options.Records, m = options.MapRecords;
        var variants = new List<Variant>
        {
            new("keyed count", "loop: Dictionary<long, long>", n, r => KeyedCountBenchmark.RunLoop(r, keys), r => KeyedCountBenchmark.Expected(r, keys)),
            new("keyed count", "Weir heap, p=1", n, r => RunKeyedCount(r, keys, StateBackendOptions.Heap), r => KeyedCountBenchmark.Expected(r, keys)),
            new("keyed count", $"Weir FASTER, p=1, {keys:N0} cached keys (all)", n, r => RunKeyedCount(r, keys, Faster((int)keys)), r => KeyedCountBenchmark.Expected(r, keys)),
            new("keyed count", $"Weir FASTER, p=1, {smallCache:N0} cached keys (every record misses)", n / 10, r => RunKeyedCount(r, keys, Faster(smallCache)), r => KeyedCountBenchmark.Expected(r, keys)),
            new("map state", "loop: Dictionary<long, Dictionary<int, long>>", m, r => RunPageLoop(r, users, pages), r => RunPageLoop(r, users, pages)),
            new("map state", "Weir heap, p=1", m, r => RunPageCount(r, users, pages, StateBackendOptions.Heap), r => RunPageLoop(r, users, pages)),
            new("map state", "Weir heap, p=1, GetValueRefOrAddDefault", m, r => RunPageCount(r, users, pages, StateBackendOptions.Heap, inPlace: true), r => RunPageLoop(r, users, pages)),
            new("map state", $"Weir FASTER, p=1, {users:N0} cached keys (all)", m, r => RunPageCount(r, users, pages, Faster((int)users)), r => RunPageLoop(r, users, pages)),
            new("map state", $"Weir FASTER, p=1, {smallUserCache:N0} cached keys (every record misses)", m / 10, r => RunPageCount(r, users, pages, Faster(smallUserCache)), r => RunPageLoop(r, users, pages)),
        };

        Console.Error.WriteLine(
            $"state-backends: keyed count {options.Records:N0} records over {keys:N0} keys; map state {options.MapRecords:N0} records over {users:N0} users x {pages} pages (cache-missing FASTER variants: a tenth); " +
            $"FASTER log memory {options.MemoryBudgetBytes >> 20} MiB per subtask; {options.Repeat} repeat(s); {Environment.ProcessorCount} logical CPU(s), {RuntimeInformation.FrameworkDescription}");

        bool allCorrect = true;
        var expected = new Dictionary<Variant, object>();
        foreach (Variant variant in variants)
        {
            long warmup = Math.Min(variant.Records, 500_000);
            Console.Error.WriteLine($"  warm-up  {variant.Workload} / {variant.Name}: {warmup:N0} records");
            allCorrect &= Check(variant, warmup, variant.Run(warmup));
        }

        var samples = variants.ToDictionary(v => v, _ => new List<Sample>());
        for (int repeat = 1; repeat <= options.Repeat; repeat++)
        {
            foreach (Variant variant in variants)
            {
                (Sample sample, object result) = Measure(variant, variant.Records);
                samples[variant].Add(sample);
                Console.Error.WriteLine(
                    $"  run {repeat}/{options.Repeat} {variant.Workload} / {variant.Name}: {sample.Time.TotalSeconds:F3} s, " +
                    $"{variant.Records / sample.Time.TotalSeconds / 1e6:F2} M records/s, peak RSS +{sample.PeakRssGrowthBytes >> 20} MiB");
                allCorrect &= Check(variant, variant.Records, result);
            }
        }

        PrintTable(options, variants, samples);
        if (!allCorrect)
        {
            Console.WriteLine();
            Console.WriteLine("**OUTPUT CHECK FAILED** (see the messages above): the numbers are not comparable.");
            return 1;
        }

        return 0;
    }

    private static bool Check(Variant variant, long records, object actual)
    {
        object expected = variant.Expected(records);
        if (Equals(expected, actual))
        {
            return true;
        }

        Console.Error.WriteLine($"  OUTPUT MISMATCH in {variant.Workload} / {variant.Name} ({records:N0} records): expected {expected}, got {actual}");
        return false;
    }

    private static (Sample, object) Measure(Variant variant, long records)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        long rssBefore = process.WorkingSet64;
        long peak = rssBefore;
        using var done = new ManualResetEventSlim();

        // Resident memory sampled every 20 ms: the peak shows what the state (heap objects, FASTER's log and index) costs.
        var sampler = new Thread(() =>
        {
            using var self = Process.GetCurrentProcess();
            while (!done.Wait(20))
            {
                self.Refresh();
                peak = Math.Max(peak, self.WorkingSet64);
            }
        })
        { IsBackground = true };
        sampler.Start();
        long start = Stopwatch.GetTimestamp();
        object result = variant.Run(records);
        TimeSpan elapsed = Stopwatch.GetElapsedTime(start);
        done.Set();
        sampler.Join();
        return (new Sample(elapsed, Math.Max(0, peak - rssBefore)), result);
    }

    private static Checksum RunKeyedCount(long records, long keys, StateBackendOptions backend)
    {
        ChecksumSink.Reset();
        JobResult result = new LocalExecutor().Execute(KeyedCountCheckedJob.CreatePlan(records, keys), new ExecutionOptions(Parallelism: 1, StateBackend: backend));
        return result.Completed ? ChecksumSink.Total : throw new InvalidOperationException("The Weir run did not complete.");
    }

    private static (long, long, long) RunPageCount(long records, long users, int pages, StateBackendOptions backend, bool inPlace = false)
    {
        PageCountChecksumSink.Reset();
        Execution.JobPlan plan = inPlace ? PageCountInPlaceJob.CreatePlan(records, users, pages) : PageCountJob.CreatePlan(records, users, pages);
        JobResult result = new LocalExecutor().Execute(plan, new ExecutionOptions(Parallelism: 1, StateBackend: backend));
        return result.Completed ? PageCountChecksumSink.Total : throw new InvalidOperationException("The Weir run did not complete.");
    }

    /// <summary>The map-state baseline by hand: a dictionary of per-user dictionaries, counts updated in place.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static (long, long, long) RunPageLoop(long records, long users, int pages)
    {
        var generator = new PageViewGenerator(users, pages);
        var views = new Dictionary<long, Dictionary<int, long>>();
        long countSum = 0, weightedSum = 0;
        for (long i = 0; i < records; i++)
        {
            PageView view = generator.Generate(i);
            ref Dictionary<int, long>? perUser = ref CollectionsMarshal.GetValueRefOrAddDefault(views, view.User, out _);
            perUser ??= new Dictionary<int, long>();
            ref long count = ref CollectionsMarshal.GetValueRefOrAddDefault(perUser, view.Page, out _);
            count++;
            countSum = unchecked(countSum + count);
            weightedSum = unchecked(weightedSum + (count * (view.User + view.Page)));
        }

        return (records, countSum, weightedSum);
    }

    private static void PrintTable(StateBackendsOptions options, List<Variant> variants, Dictionary<Variant, List<Sample>> samples)
    {
        static TimeSpan Median(List<Sample> s) => Medians.Of(s.Select(x => x.Time));

        double Rate(Variant v) => v.Records / Median(samples[v]).TotalSeconds;
        Console.WriteLine();
        Console.WriteLine(
            $"state-backends: median of {options.Repeat} interleaved run(s), every run checksum-verified; " +
            $"FASTER log memory {options.MemoryBudgetBytes >> 20} MiB; {Environment.ProcessorCount} logical CPU(s), {RuntimeInformation.FrameworkDescription}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        Console.WriteLine();
        Console.WriteLine("| workload | variant | records | median time | records/s | ratio vs loop | peak RSS growth |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|");
        foreach (IGrouping<string, Variant> workload in variants.GroupBy(v => v.Workload))
        {
            double loop = Rate(workload.First());
            foreach (Variant v in workload)
            {
                long peak = samples[v].Max(s => s.PeakRssGrowthBytes);
                Console.WriteLine($"| {v.Workload} | {v.Name} | {v.Records:N0} | {Median(samples[v]).TotalSeconds:F3} s | {Rate(v) / 1e6:F2} M | {Rate(v) / loop:F2} | {peak >> 20} MiB |");
            }
        }

        Console.WriteLine();
        Console.WriteLine("Variants that miss the FASTER key cache on every record run a tenth of the records; records/s and ratios are per record.");
        Console.WriteLine("Ratios are only meaningful within one run of this harness (shared, noisy machine). Peak RSS growth is the largest");
        Console.WriteLine("increase of the process's resident memory over the run, sampled every 20 ms (the loop's includes its dictionaries).");
    }
}
