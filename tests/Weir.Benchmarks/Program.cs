using System;
using Weir.Benchmarks.KeyedCount;

namespace Weir.Benchmarks;

/// <summary>Entry point: <c>Weir.Benchmarks &lt;benchmark&gt; [options]</c>. See README.md.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            PrintUsage();
            return args.Length == 0 ? 2 : 0;
        }

        try
        {
            switch (args[0])
            {
                case "keyed-count":
                    return KeyedCountBenchmark.Run(KeyedCountOptions.Parse(args.AsSpan(1)));
                case "keyed-count-breakdown":
                    return KeyedCountBreakdown.Run(KeyedCountOptions.Parse(args.AsSpan(1)));
                case "state-backends":
                    return StateBackends.StateBackendsBenchmark.Run(StateBackends.StateBackendsOptions.Parse(args.AsSpan(1)));
                case "window-count":
                    return WindowCount.WindowCountBenchmark.Run(WindowCount.WindowCountOptions.Parse(args.AsSpan(1)));
                case "checkpoint-state":
                    return CheckpointState.CheckpointStateBenchmark.Run(CheckpointState.CheckpointStateOptions.Parse(args.AsSpan(1)));
                default:
                    Console.Error.WriteLine($"Unknown benchmark '{args[0]}'.");
                    PrintUsage();
                    return 2;
            }
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            PrintUsage();
            return 2;
        }
    }

    private static void PrintUsage()
    {
        Console.Error.WriteLine(
            """
            Usage: dotnet run -c Release --project tests/Weir.Benchmarks -- <benchmark> [options]

            Benchmarks:
              keyed-count   Keyed running count over generated value-type records: hand-written loop,
                            Weir at parallelism 1 and 2, Rx.NET GroupBy/Scan, in one process.
              keyed-count-breakdown
                            Diagnostic: single-threaded loops adding one piece of Weir's per-record
                            work at a time, then the Weir job at parallelism 1 (same options;
                            --rx-records and --sink are ignored).

              state-backends
                            Keyed count (ValueState) and per-user page count (MapState), each as a hand-written
                            loop, on the heap backend and on FASTER with a small and a full key cache; ratios
                            to the loop and peak resident memory growth.
                              --records N (keyed count, default 1e8)  --map-records M (default 1e7)
                              --keys K (1e5)  --users U (1e4)  --pages P (50)
                              --repeat R (3)  --state-memory-mib M (FASTER log memory, default 64)

              checkpoint-state
                            Heap keyed state checkpoints through the checkpoint catalog: (a) the synchronous
                            pause per checkpoint while records flow, (b) bytes of an incremental checkpoint
                            when 1% of the keys changed vs their raw bytes, (c) restore vs write time of a
                            large state.
                              --keys K (1e6)  --checkpoints C (20)  --restore-keys R (8e6)
                              --value-bytes B (120)  --dir D (temp directory; deleted after the run)

              window-count  Tumbling one-second event-time window count per key over generated value-type
                            records with bounded disorder: hand-written loop (a Dictionary per open window)
                            vs Weir at parallelism 1, in one process; both outputs checked against each other.
                              --records N (1e7)  --keys K (1e4)  --repeat R (3)  --warmup W (min(N, 1e6))
                              --events-per-ms E (100)  --disorder-ms D (50)  --bound-ms B (D)

            keyed-count options:
              --records N       Records per run (default 100000000).
              --keys K          Distinct keys (default 100000).
              --repeat R        Measured runs per variant; the median is reported (default 3).
              --rx-records M    Records per Rx.NET run (default N/10; 0 skips Rx). Reported as records/s.
              --warmup W        Records per untimed warm-up run of each variant (default min(N, 1000000); 0 skips).
              --sink S          checksum (default: every Weir run is checked against the loop) or
                                discard (the contract job verbatim, Sinks.Discard; output not checked).
            """);
    }
}
