using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Runtime;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Weir.Benchmarks.KeyedCount;
using Weir.Execution;

namespace Weir.Benchmarks.WindowCount;

/// <summary>Command-line options of <c>window-count</c>.</summary>
public sealed record WindowCountOptions(long Records, long Keys, int Repeat, long WarmupRecords, long EventsPerMs, long DisorderMs, long BoundMs)
{
    /// <summary>Parses <c>[--records N] [--keys K] [--repeat R] [--warmup W] [--events-per-ms E] [--disorder-ms D] [--bound-ms B]</c>.</summary>
    public static WindowCountOptions Parse(ReadOnlySpan<string> args)
    {
        long records = 10_000_000;
        long keys = 10_000;
        int repeat = 3;
        long? warmup = null;
        long eventsPerMs = 100;
        long disorderMs = 50;
        long? boundMs = null;
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
                case "--records":
                    records = KeyedCountOptions.ParseCount(name, value, min: 1);
                    break;
                case "--keys":
                    keys = KeyedCountOptions.ParseCount(name, value, min: 1);
                    break;
                case "--repeat":
                    repeat = checked((int)KeyedCountOptions.ParseCount(name, value, min: 1));
                    break;
                case "--warmup":
                    warmup = KeyedCountOptions.ParseCount(name, value, min: 0);
                    break;
                case "--events-per-ms":
                    eventsPerMs = KeyedCountOptions.ParseCount(name, value, min: 1);
                    break;
                case "--disorder-ms":
                    disorderMs = KeyedCountOptions.ParseCount(name, value, min: 0);
                    break;
                case "--bound-ms":
                    boundMs = KeyedCountOptions.ParseCount(name, value, min: 0);
                    break;
                default:
                    throw new ArgumentException($"Unknown option '{name}'.");
            }
        }

        long bound = boundMs ?? disorderMs;
        if (bound < disorderMs)
        {
            throw new ArgumentException($"--bound-ms ({bound}) must be at least --disorder-ms ({disorderMs}), or records could be late and the outputs would depend on timing.");
        }

        return new WindowCountOptions(records, keys, repeat, warmup ?? Math.Min(records, 1_000_000), eventsPerMs, disorderMs, bound);
    }
}

/// <summary>
/// The window-count benchmark: a tumbling one-second event-time count per key, as a hand-written loop
/// (a dictionary per open window, fired when its own watermark passes the window's end) and as a Weir
/// job at parallelism 1, interleaved <c>--repeat</c> times in one process; the median of each is
/// reported as records/s and as a ratio to the loop. Every run's output checksum must equal the loop's.
/// </summary>
public static class WindowCountBenchmark
{
    private const long WindowSize = 1000;

    private sealed record Variant(string Name, long Records, Func<long, WindowChecksum> Run);

    private sealed record Sample(TimeSpan Time, long AllocatedBytes);

    /// <summary>Runs the benchmark and prints the table; returns the process exit code (1 when an output check failed).</summary>
    public static int Run(WindowCountOptions o)
    {
        var variants = new List<Variant>
        {
            new("(a) loop: Dictionary per open window", o.Records, n => RunLoop(n, o.Keys, o.EventsPerMs, o.DisorderMs, o.BoundMs)),
            new("(b) Weir, parallelism 1", o.Records, n => RunWeir(n, o)),
        };

        Console.Error.WriteLine(
            $"window-count: {o.Records:N0} records over {o.Keys:N0} keys, {o.EventsPerMs} records per event-time ms, " +
            $"disorder < {o.DisorderMs} ms, watermark bound {o.BoundMs} ms, tumbling 1 s windows, {o.Repeat} repeat(s); " +
            $"{Environment.ProcessorCount} logical CPU(s), {RuntimeInformation.FrameworkDescription}, " +
            $"{(GCSettings.IsServerGC ? "server" : "workstation")} GC ({GCSettings.LatencyMode})");

        // The loop's output for each record count, which every other run must reproduce.
        var reference = new Dictionary<long, WindowChecksum>();
        bool allCorrect = true;
        bool Check(Variant variant, long n, WindowChecksum result)
        {
            if (!reference.TryGetValue(n, out WindowChecksum expected))
            {
                reference[n] = expected = variant == variants[0] ? result : RunLoop(n, o.Keys, o.EventsPerMs, o.DisorderMs, o.BoundMs);
            }

            if (result == expected && result.CountSum == n)
            {
                return true;
            }

            Console.Error.WriteLine($"  OUTPUT MISMATCH in {variant.Name} ({n:N0} records): expected {expected} (count sum {n}), got {result}");
            return false;
        }

        if (o.WarmupRecords > 0)
        {
            foreach (Variant variant in variants)
            {
                long n = Math.Min(o.WarmupRecords, variant.Records);
                Console.Error.WriteLine($"  warm-up  {variant.Name}: {n:N0} records");
                allCorrect &= Check(variant, n, variant.Run(n));
            }
        }

        var samples = variants.ToDictionary(v => v, _ => new List<Sample>());
        var results = new Dictionary<Variant, WindowChecksum>();
        for (int repeat = 1; repeat <= o.Repeat; repeat++)
        {
            foreach (Variant variant in variants)
            {
                (Sample sample, WindowChecksum result) = Measure(variant);
                samples[variant].Add(sample);
                results[variant] = result;
                Console.Error.WriteLine(
                    $"  run {repeat}/{o.Repeat} {variant.Name}: {sample.Time.TotalSeconds:F3} s, " +
                    $"{variant.Records / sample.Time.TotalSeconds / 1e6:F2} M records/s, {result.Results:N0} (key, window) results, count sum {result.CountSum:N0}");
                allCorrect &= Check(variant, variant.Records, result);
            }
        }

        PrintTable(o, variants, samples, results);
        if (!allCorrect)
        {
            Console.WriteLine();
            Console.WriteLine("**OUTPUT CHECK FAILED** (see the messages above): the numbers are not comparable.");
            return 1;
        }

        return 0;
    }

    private static (Sample, WindowChecksum) Measure(Variant variant)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        long start = Stopwatch.GetTimestamp();
        WindowChecksum result = variant.Run(variant.Records);
        TimeSpan elapsed = Stopwatch.GetElapsedTime(start);
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        return (new Sample(elapsed, allocated), result);
    }

    // ---- (a) the hand-written loop ---------------------------------------------------------

    /// <summary>
    /// The baseline: the same generator; the watermark of ForBoundedOutOfOrderness (largest timestamp
    /// minus bound minus 1), advanced on every record rather than every 200 ms; one
    /// <c>Dictionary&lt;long key, long count&gt;</c> per open window (a short list, the window of the
    /// previous record cached); when the watermark passes the earliest open window's last millisecond,
    /// that window's counts are emitted into the checksum and its dictionary is cleared and reused.
    /// Late records (none with bound ≥ disorder) would be dropped as Weir drops them.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    internal static WindowChecksum RunLoop(long records, long keys, long eventsPerMs, long disorderMs, long boundMs)
    {
        var generator = new TickGenerator(keys, eventsPerMs, disorderMs);
        var open = new List<(long End, Dictionary<long, long> Counts)>();
        var spare = new Stack<Dictionary<long, long>>();
        long results = 0, countSum = 0, keyWeighted = 0, windowWeighted = 0;
        long max = long.MinValue + boundMs + 1;
        long firstEnd = long.MaxValue; // the earliest open window's end
        long lastEnd = long.MinValue;
        Dictionary<long, long>? last = null;

        for (long i = 0; i < records; i++)
        {
            Tick tick = generator.Generate(i);
            if (tick.Timestamp > max)
            {
                max = tick.Timestamp;
                long watermark = max - boundMs - 1;
                while (firstEnd - 1 <= watermark)
                {
                    Fire(open, spare, ref results, ref countSum, ref keyWeighted, ref windowWeighted);
                    firstEnd = open.Count == 0 ? long.MaxValue : open[0].End;
                    lastEnd = long.MinValue;
                }
            }

            long end = TimeWindow.StartOf(tick.Timestamp, 0, WindowSize) + WindowSize;
            if (end != lastEnd)
            {
                if (end - 1 <= max - boundMs - 1)
                {
                    continue; // late: dropped
                }

                last = null;
                int at = 0;
                for (; at < open.Count && open[at].End <= end; at++)
                {
                    if (open[at].End == end)
                    {
                        last = open[at].Counts;
                        break;
                    }
                }

                if (last is null)
                {
                    last = spare.Count > 0 ? spare.Pop() : new Dictionary<long, long>();
                    open.Insert(at, (end, last));
                    firstEnd = open[0].End;
                }

                lastEnd = end;
            }

            CollectionsMarshal.GetValueRefOrAddDefault(last!, tick.Key, out _)++;
        }

        // End of input: the watermark jumps to the end of time and every window fires.
        while (open.Count > 0)
        {
            Fire(open, spare, ref results, ref countSum, ref keyWeighted, ref windowWeighted);
        }

        return new WindowChecksum(results, countSum, keyWeighted, windowWeighted);
    }

    private static void Fire(List<(long End, Dictionary<long, long> Counts)> open, Stack<Dictionary<long, long>> spare, ref long results, ref long countSum, ref long keyWeighted, ref long windowWeighted)
    {
        (long end, Dictionary<long, long> counts) = open[0];
        open.RemoveAt(0);
        foreach (KeyValuePair<long, long> entry in counts)
        {
            WindowChecksum.Add(ref results, ref countSum, ref keyWeighted, ref windowWeighted, entry.Key, end, entry.Value);
        }

        counts.Clear();
        spare.Push(counts);
    }

    // ---- (b) Weir ----------------------------------------------------------------------------

    internal static WindowChecksum RunWeir(long records, WindowCountOptions o)
    {
        WindowChecksumSink.Reset();
        JobResult result = new LocalExecutor().Execute(
            WindowCountJob.CreatePlan(records, o.Keys, o.EventsPerMs, o.DisorderMs, o.BoundMs),
            new ExecutionOptions(Parallelism: 1));
        return result.Completed ? WindowChecksumSink.Total : throw new InvalidOperationException("The Weir run did not complete.");
    }

    // ---- Report ------------------------------------------------------------------------------

    private static void PrintTable(WindowCountOptions o, List<Variant> variants, Dictionary<Variant, List<Sample>> samples, Dictionary<Variant, WindowChecksum> results)
    {
        static TimeSpan Median(List<Sample> s) => Medians.Of(s.Select(x => x.Time));

        static double MedianAllocated(List<Sample> s) => Medians.Of(s.Select(x => (double)x.AllocatedBytes));

        double RecordsPerSecond(Variant v) => v.Records / Median(samples[v]).TotalSeconds;
        double loopRate = RecordsPerSecond(variants[0]);

        Console.WriteLine();
        Console.WriteLine(
            $"window-count: {o.Keys:N0} keys, tumbling 1 s event-time windows, {o.EventsPerMs} records/ms of event time, " +
            $"disorder < {o.DisorderMs} ms, bound {o.BoundMs} ms; median of {o.Repeat} run(s) per variant (runs interleaved), " +
            $"every run checked against the loop's output; {Environment.ProcessorCount} logical CPU(s), {RuntimeInformation.FrameworkDescription}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        Console.WriteLine();
        Console.WriteLine("| variant | records | (key, window) results | count sum | median time | records/s | ratio vs loop | allocated bytes/record |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (Variant v in variants)
        {
            double rate = RecordsPerSecond(v);
            Console.WriteLine(
                $"| {v.Name} | {v.Records:N0} | {results[v].Results:N0} | {results[v].CountSum:N0} | {Median(samples[v]).TotalSeconds:F3} s | {rate / 1e6:F2} M | " +
                $"{rate / loopRate:F2} | {MedianAllocated(samples[v]) / v.Records:F3} |");
        }

        Console.WriteLine();
        Console.WriteLine("Runs (s): " + string.Join("; ", variants.Select(v => $"{v.Name.Split(' ')[0]} " + string.Join(", ", samples[v].Select(s => s.Time.TotalSeconds.ToString("F3", CultureInfo.InvariantCulture))))));
        Console.WriteLine("Ratios are only meaningful within one run of this harness (shared, noisy machine); see README.md.");
    }
}
