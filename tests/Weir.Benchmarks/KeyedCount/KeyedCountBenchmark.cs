using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Reactive.Disposables;
using System.Reactive.Linq;
using System.Runtime;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Weir.Execution;

namespace Weir.Benchmarks.KeyedCount;

/// <summary>Command-line options of <c>keyed-count</c>.</summary>
public sealed record KeyedCountOptions(long Records, long Keys, int Repeat, long RxRecords, long WarmupRecords, bool ChecksumSink, TimeSpan? CheckpointInterval = null)
{
    /// <summary>Parses <c>[--records N] [--keys K] [--repeat R] [--rx-records M] [--warmup W] [--sink checksum|discard] [--checkpoint-interval D]</c>.</summary>
    public static KeyedCountOptions Parse(ReadOnlySpan<string> args)
    {
        long records = 100_000_000;
        long keys = 100_000;
        int repeat = 3;
        long? rxRecords = null;
        long? warmup = null;
        bool checksum = true;
        TimeSpan? checkpointInterval = null;
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
                    records = ParseCount(name, value, min: 1);
                    break;
                case "--keys":
                    keys = ParseCount(name, value, min: 1);
                    break;
                case "--repeat":
                    repeat = checked((int)ParseCount(name, value, min: 1));
                    break;
                case "--rx-records":
                    rxRecords = ParseCount(name, value, min: 0);
                    break;
                case "--warmup":
                    warmup = ParseCount(name, value, min: 0);
                    break;
                case "--sink":
                    checksum = value switch
                    {
                        "checksum" => true,
                        "discard" => false,
                        _ => throw new ArgumentException($"--sink must be 'checksum' or 'discard', not '{value}'."),
                    };
                    break;
                case "--checkpoint-interval":
                    checkpointInterval = Weir.Hosting.Duration.TryParse(value, out TimeSpan interval, out string error) && interval > TimeSpan.Zero
                        ? interval
                        : throw new ArgumentException($"--checkpoint-interval needs a positive duration such as 1s: {error}");
                    break;
                default:
                    throw new ArgumentException($"Unknown option '{name}'.");
            }
        }

        return new KeyedCountOptions(records, keys, repeat, rxRecords ?? records / 10, warmup ?? Math.Min(records, 1_000_000), checksum, checkpointInterval);
    }

    internal static long ParseCount(string name, string value, long min)
    {
        // Accepts 100000000, 100_000_000 and 1e8.
        string text = value.Replace("_", string.Empty, StringComparison.Ordinal);
        if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long n) && n >= min)
        {
            return n;
        }

        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && d >= min && d <= long.MaxValue && d == Math.Floor(d))
        {
            return (long)d;
        }

        throw new ArgumentException($"Option '{name}' needs an integer >= {min}, not '{value}'.");
    }
}

/// <summary>
/// The keyed-count benchmark: every variant counts the same generated records per key; the variants
/// run interleaved (loop, Weir p=1, Weir p=2, Rx, loop, ...) <c>--repeat</c> times in one process and
/// the median of each is reported, as records/s and as a ratio to the hand-written loop.
/// </summary>
public static class KeyedCountBenchmark
{
    private sealed record Variant(string Name, long Records, Func<long, Checksum?> Run);

    private sealed record Sample(TimeSpan Time, long AllocatedBytes);

    /// <summary>Runs the benchmark and prints the table; returns the process exit code (1 when an output check failed).</summary>
    public static int Run(KeyedCountOptions options)
    {
        long keys = options.Keys;
        bool checksum = options.ChecksumSink;
        var variants = new List<Variant>
        {
            new("(a) loop: Dictionary + GetValueRefOrAddDefault", options.Records, n => RunLoop(n, keys)),
            new("(b) Weir, parallelism 1", options.Records, n => RunWeir(n, keys, parallelism: 1, checksum)),
            new("(c) Weir, parallelism 2", options.Records, n => RunWeir(n, keys, parallelism: 2, checksum)),
        };
        if (options.RxRecords > 0)
        {
            variants.Add(new("(d) Rx.NET: GroupBy + Scan", options.RxRecords, n => RunRx(n, keys)));
        }

        if (options.CheckpointInterval is { } every)
        {
            // Exactly-once checkpoints of the keyed state and the source position into a fresh local
            // directory per run: compare with (b), which is the same job without checkpoints.
            variants.Add(new($"(e) Weir, parallelism 1, checkpoint every {Weir.Hosting.Duration.Format(every)}", options.Records, n => RunWeir(n, keys, parallelism: 1, checksum, every)));
        }

        Console.Error.WriteLine(
            $"keyed-count: {options.Records:N0} records over {keys:N0} keys, {options.Repeat} repeat(s), " +
            $"Rx on {options.RxRecords:N0} records, sink: {(checksum ? "checksum" : "discard")}; " +
            $"{Environment.ProcessorCount} logical CPU(s), {RuntimeInformation.FrameworkDescription}, " +
            $"{(GCSettings.IsServerGC ? "server" : "workstation")} GC ({GCSettings.LatencyMode})");

        bool allCorrect = true;
        if (options.WarmupRecords > 0)
        {
            foreach (Variant variant in variants)
            {
                long n = Math.Min(options.WarmupRecords, variant.Records);
                Console.Error.WriteLine($"  warm-up  {variant.Name}: {n:N0} records");
                allCorrect &= Check(variant, n, keys, variant.Run(n));
            }
        }

        var samples = variants.ToDictionary(v => v, _ => new List<Sample>());
        for (int repeat = 1; repeat <= options.Repeat; repeat++)
        {
            foreach (Variant variant in variants)
            {
                (Sample sample, Checksum? result) = Measure(variant);
                samples[variant].Add(sample);
                Console.Error.WriteLine(
                    $"  run {repeat}/{options.Repeat} {variant.Name}: {sample.Time.TotalSeconds:F3} s, " +
                    $"{variant.Records / sample.Time.TotalSeconds / 1e6:F2} M records/s");
                allCorrect &= Check(variant, variant.Records, keys, result);
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

    private static (Sample, Checksum?) Measure(Variant variant)
    {
        // Start every run from a clean heap so one variant's garbage is not collected on another's clock.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        long start = Stopwatch.GetTimestamp();
        Checksum? result = variant.Run(variant.Records);
        TimeSpan elapsed = Stopwatch.GetElapsedTime(start);
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        return (new Sample(elapsed, allocated), result);
    }

    private static bool Check(Variant variant, long records, long keys, Checksum? actual)
    {
        if (actual is not Checksum result)
        {
            return true; // discard sink: nothing to check (a failed or aborted run throws).
        }

        Checksum expected = Expected(records, keys);
        if (result == expected)
        {
            return true;
        }

        Console.Error.WriteLine($"  OUTPUT MISMATCH in {variant.Name} ({records:N0} records): expected {expected}, got {result}");
        return false;
    }

    /// <summary>What a correct run over records [0, n) must produce: key j is seen n/k times, plus once more when j &lt; n % k.</summary>
    internal static Checksum Expected(long records, long keys)
    {
        long perKey = records / keys;
        long extra = records % keys;
        IEnumerable<KeyValuePair<long, long>> Counts()
        {
            for (long key = 0; key < Math.Min(keys, records); key++)
            {
                yield return new(key, perKey + (key < extra ? 1 : 0));
            }
        }

        return Checksum.OfFinalCounts(Counts());
    }

    // ---- (a) the hand-written loop ---------------------------------------------------------

    /// <summary>
    /// The baseline: the same generator, a <see cref="Dictionary{TKey, TValue}"/> of counts updated in
    /// place, and the running count consumed into a checksum (as Weir consumes it in its sink).
    /// AggressiveOptimization: the loop runs a handful of times, so without it the measurement would
    /// depend on when on-stack replacement moves it out of tier-0 code.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    internal static Checksum RunLoop(long records, long keys)
    {
        var generator = new ClickGenerator(keys);
        var counts = new Dictionary<long, long>();
        long countSum = 0;
        for (long i = 0; i < records; i++)
        {
            Click click = generator.Generate(i);
            ref long count = ref CollectionsMarshal.GetValueRefOrAddDefault(counts, click.Key, out _);
            count++;
            countSum += count;
        }

        Checksum result = Checksum.OfFinalCounts(counts);
        if (result.CountSum != countSum)
        {
            throw new InvalidOperationException($"The loop's running-count sum {countSum} disagrees with its final counts ({result.CountSum}).");
        }

        return result;
    }

    // ---- (b), (c) Weir ---------------------------------------------------------------------

    internal static Checksum? RunWeir(long records, long keys, int parallelism, bool checksum, TimeSpan? checkpointInterval = null)
    {
        string? directory = checkpointInterval is null ? null : Path.Combine(Path.GetTempPath(), "weir-bench-checkpoints-" + Guid.NewGuid().ToString("N"));
        var options = new ExecutionOptions(
            Parallelism: parallelism,
            Checkpointing: directory is null ? null : new CheckpointingOptions(directory, new Weir.Checkpointing.Coordinator.CheckpointOptions { Interval = checkpointInterval }));
        try
        {
            if (!checksum)
            {
                JobResult discarded = new LocalExecutor().Execute(KeyedCountJob.CreatePlan(records, keys), options);
                return discarded.Completed ? null : throw new InvalidOperationException("The Weir run did not complete.");
            }

            ChecksumSink.Reset();
            JobResult result = new LocalExecutor().Execute(KeyedCountCheckedJob.CreatePlan(records, keys), options);
            if (!result.Completed)
            {
                throw new InvalidOperationException("The Weir run did not complete.");
            }

            return ChecksumSink.Total;
        }
        finally
        {
            if (directory is not null)
            {
                ReportCheckpoints(directory);
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    private static void ReportCheckpoints(string directory)
    {
        string statistics = Directory.GetFiles(directory, "checkpoint-stats.json", SearchOption.AllDirectories).Single();
        Weir.Checkpointing.Coordinator.CheckpointStatistics stats = Weir.Checkpointing.Coordinator.CheckpointStatistics.FromJson(File.ReadAllText(statistics));
        var completed = stats.History.Where(c => c.Status == Weir.Checkpointing.Coordinator.CheckpointStatus.Completed).ToArray();
        Console.Error.WriteLine(
            $"    checkpoints: {stats.Completed} completed, {stats.Aborted} aborted; sync pause max {completed.Select(c => c.MaxSyncDuration.TotalMilliseconds).DefaultIfEmpty().Max():F3} ms; " +
            $"bytes written per checkpoint: {string.Join(", ", completed.Select(c => c.BytesWritten))}");
    }

    // ---- (d) Rx.NET --------------------------------------------------------------------------

    /// <summary>
    /// Rx.NET's idiomatic keyed running count: an observable pushing the generated records
    /// synchronously, GroupBy key, a Scan per group, merged by SelectMany into one observer.
    /// </summary>
    internal static Checksum RunRx(long records, long keys)
    {
        IObservable<Click> clicks = Observable.Create<Click>(observer =>
        {
            var generator = new ClickGenerator(keys);
            for (long i = 0; i < records; i++)
            {
                observer.OnNext(generator.Generate(i));
            }

            observer.OnCompleted();
            return Disposable.Empty;
        });

        var sink = new ChecksumObserver();
        using (clicks
            .GroupBy(click => click.Key)
            .SelectMany(group => group.Scan(0L, (count, _) => count + 1).Select(count => new KeyCount(group.Key, count)))
            .Subscribe(sink))
        {
        }

        return sink.Completed ? sink.Result : throw new InvalidOperationException("The Rx pipeline did not complete.");
    }

    private sealed class ChecksumObserver : IObserver<KeyCount>
    {
        private long _records;
        private long _countSum;
        private long _keyWeightedSum;

        public bool Completed { get; private set; }

        public Checksum Result => new(_records, _countSum, _keyWeightedSum);

        public void OnNext(KeyCount value)
        {
            _records++;
            _countSum = unchecked(_countSum + value.Count);
            _keyWeightedSum = unchecked(_keyWeightedSum + (value.Key * value.Count));
        }

        public void OnError(Exception error) => throw new InvalidOperationException("The Rx pipeline failed.", error);

        public void OnCompleted() => Completed = true;
    }

    // ---- Report ------------------------------------------------------------------------------

    private static void PrintTable(KeyedCountOptions options, List<Variant> variants, Dictionary<Variant, List<Sample>> samples)
    {
        static TimeSpan Median(List<Sample> s) => Medians.Of(s.Select(x => x.Time));

        static double MedianAllocated(List<Sample> s) => Medians.Of(s.Select(x => (double)x.AllocatedBytes));

        double RecordsPerSecond(Variant v) => v.Records / Median(samples[v]).TotalSeconds;
        double loopRate = RecordsPerSecond(variants[0]);

        Console.WriteLine();
        Console.WriteLine(
            $"keyed-count: {options.Keys:N0} keys, median of {options.Repeat} run(s) per variant (runs interleaved), " +
            $"{(options.ChecksumSink ? "checksum sink, every run checked against the expected counts" : "discard sink, output not checked")}; " +
            $"{Environment.ProcessorCount} logical CPU(s), {RuntimeInformation.FrameworkDescription}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        Console.WriteLine();
        Console.WriteLine("| variant | records | median time | records/s | ratio vs loop | allocated bytes/record |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (Variant v in variants)
        {
            double rate = RecordsPerSecond(v);
            Console.WriteLine(
                $"| {v.Name} | {v.Records:N0} | {Median(samples[v]).TotalSeconds:F3} s | {rate / 1e6:F2} M | " +
                $"{rate / loopRate:F2} | {MedianAllocated(samples[v]) / v.Records:F3} |");
        }

        Console.WriteLine();
        Console.WriteLine("Runs (s): " + string.Join("; ", variants.Select(v => $"{v.Name.Split(' ')[0]} " + string.Join(", ", samples[v].Select(s => s.Time.TotalSeconds.ToString("F3", CultureInfo.InvariantCulture))))));
        if (variants.Any(v => v.Records != options.Records))
        {
            Console.WriteLine(
                $"Rx.NET ran on {options.RxRecords:N0} records (N/{Math.Max(1, options.Records / Math.Max(1, options.RxRecords))} by default, it is slow); " +
                "its records/s and ratio are normalized per record, so they compare with the other rows.");
        }

        Console.WriteLine("Ratios are only meaningful within one run of this harness (shared, noisy machine); see README.md.");
    }
}
