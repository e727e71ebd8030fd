using System;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using Xunit;

namespace Weir.Generator.Tests;

/// <summary>
/// The generated code of representative jobs, compared with checked-in baselines
/// (Baselines/&lt;Name&gt;.g.cs.txt). Set WEIR_UPDATE_BASELINES=1 to rewrite them instead; see README.md.
/// </summary>
public sealed class BaselineTests
{
    private const string UpdateVariable = "WEIR_UPDATE_BASELINES";

    [Fact]
    public void WordCount() => AssertBaseline(nameof(WordCount), """
        using System;
        using Weir;

        namespace WordCount;

        [Job("word-count")]
        public static partial class WordCountJob
        {
            [Pipeline]
            private static void Define(
                PipelineBuilder p,
                [Option("A text file, or a directory of text files.")] string input,
                [Option("Directory for the output files (part-NNNN.txt).")] string output)
                => p
                    .Source("lines", Sources.TextLines(input))
                    .FlatMap<string>(SplitWords)
                    .KeyBy(word => word)
                    .Process("running-counts", new RunningCount())
                    .Sink("counts", Sinks.TextFiles<WordCountLine>(output));

            internal static void SplitWords(string line, ref Collector<string> words)
            {
                foreach (string word in line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    words.Collect(word.ToLowerInvariant());
                }
            }
        }

        public struct RunningCount : IKeyedProcessFunction<string, string, WordCountLine>
        {
            [State("count")]
            private ValueState<long> _count;

            public void Process(in string word, ProcessContext<string> context, ref Collector<WordCountLine> output)
            {
                long count = _count.Value + 1;
                _count.Value = count;
                output.Collect(new WordCountLine(word, count));
            }
        }

        public readonly record struct WordCountLine(string Word, long Count) : ISpanFormattable
        {
            public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
                => destination.TryWrite(System.Globalization.CultureInfo.InvariantCulture, $"{Word}\t{Count}", out charsWritten);

            public string ToString(string? format, IFormatProvider? formatProvider) => $"{Word}\t{Count}";
        }
        """);

    [Fact]
    public void UnionBroadcastReduce() => AssertBaseline(nameof(UnionBroadcastReduce), """
        using Weir;

        namespace Shop.Jobs;

        [MemoryPack.MemoryPackable(MemoryPack.GenerateType.VersionTolerant)]
        public readonly partial record struct Sale([property: MemoryPack.MemoryPackOrder(0)] string Store, [property: MemoryPack.MemoryPackOrder(1)] decimal Amount);

        [Job("sales")]
        public static partial class SalesJob
        {
            [Pipeline]
            private static void Define(PipelineBuilder p, int stores = 3)
            {
                p.Parallelism(4).MaxParallelism(128);
                var online = p.Source("online", Sources.FromArray(new[] { new Sale("web", 10m) }));
                var retail = p.Source("retail", Sources.FromArray(new[] { new Sale("s1", 5m) })).Parallelism(2);
                var sales = online.Union(retail).Filter(static sale => sale.Amount > 0);
                sales
                    .KeyBy(sale => sale.Store)
                    .Reduce("totals", (a, b) => a with { Amount = a.Amount + b.Amount })
                    .Sink("totals-out", Sinks.Discard<Sale>());
                sales
                    .Map(sale => sale.Store)
                    .Broadcast()
                    .Sink("audit", Sinks.TextLines("audit"))
                    .Parallelism(1);
            }
        }
        """);

    [Fact]
    public void KeyedAggregate() => AssertBaseline(nameof(KeyedAggregate), """
        using System;
        using Weir;
        using Weir.Connectors;

        namespace Telemetry;

        public enum Region
        {
            North,
            South,
        }

        public readonly record struct Reading(Region Region, int Sensor, double Value);

        public struct Readings : IRecordGenerator<Reading>
        {
            public Reading Generate(long index) => new((Region)(index % 2), (int)(index % 7), index * 0.5);
        }

        public struct Mean : IAggregateFunction<Reading, (double Sum, long Count), double>
        {
            public (double Sum, long Count) CreateAccumulator() => (0, 0);

            public void Add(in Reading value, ref (double Sum, long Count) accumulator)
                => accumulator = (accumulator.Sum + value.Value, accumulator.Count + 1);

            public double GetResult(in (double Sum, long Count) accumulator) => accumulator.Sum / accumulator.Count;
        }

        [Job("sensor-means")]
        public static partial class SensorMeans
        {
            [Pipeline]
            private static void Define(PipelineBuilder p, long count = 1000, [Option("Output directory.", Name = "--out")] string output = "means") => p
                .Source("readings", Sources.Generate<Reading, Readings>(count))
                .Filter(r => !double.IsNaN(r.Value))
                .KeyBy(r => (r.Region, r.Sensor))
                .Aggregate("means", new Mean())
                .Rebalance()
                .Sink("out", Sinks.TextFiles<double>(output));
        }
        """);

    [Fact]
    public void EventTimeWindows() => AssertBaseline(nameof(EventTimeWindows), """
        using System;
        using System.Collections.Generic;
        using Weir;
        using Weir.Connectors;

        namespace Clicks;

        public readonly record struct Click(int Page, long Ts);

        public struct Clicks : IRecordGenerator<Click>
        {
            public Click Generate(long index) => new((int)(index % 13), index * 100);
        }

        public struct Count : IAggregateFunction<Click, long, long>
        {
            public long CreateAccumulator() => 0;
            public void Add(in Click value, ref long accumulator) => accumulator++;
            public long GetResult(in long accumulator) => accumulator;
        }

        public struct Named : IProcessWindowFunction<int, long, string>
        {
            public void Process(int key, TimeWindow window, IReadOnlyList<long> elements, ref Collector<string> output)
                => output.Collect($"{key} {window.Start} {elements[0]}");
        }

        public struct Expire : IKeyedProcessFunction<int, Click, int>, IKeyedTimerFunction<int, int>
        {
            public void Process(in Click value, ProcessContext<int> context, ref Collector<int> output)
                => context.RegisterEventTimeTimer(context.Timestamp + 1000);

            public void OnTimer(long timestamp, ProcessContext<int> context, ref Collector<int> output)
                => output.Collect(context.Key);
        }

        [Job("click-windows")]
        public static partial class ClickWindows
        {
            [Pipeline]
            private static void Define(PipelineBuilder p, long count = 1000)
            {
                var clicks = p.Source("clicks", Sources.Generate<Click, Clicks>(count))
                    .AssignTimestampsAndWatermarks(c => c.Ts, WatermarkStrategy.ForBoundedOutOfOrderness<Click>(TimeSpan.FromSeconds(5)).WithIdleness(TimeSpan.FromSeconds(30)));
                clicks.KeyBy(c => c.Page)
                    .Window(Windows.Sliding(TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(10)))
                    .AllowedLateness(TimeSpan.FromSeconds(30))
                    .SideOutputLateData(out var late)
                    .Aggregate("per-page", new Count(), new Named())
                    .Sink("out", Sinks.Discard<string>());
                late.Sink("late", Sinks.Discard<Click>());
                clicks.KeyBy(c => c.Page)
                    .Window(Windows.Tumbling(TimeSpan.FromMinutes(1)))
                    .Reduce("latest", (a, b) => a.Ts >= b.Ts ? a : b)
                    .KeyBy(c => c.Page)
                    .Process("expire", new Expire())
                    .Sink("expired", Sinks.Discard<int>());
            }
        }
        """);

    [Fact]
    public void KeyedJoins() => AssertBaseline(nameof(KeyedJoins), """
        using System;
        using Weir;
        using Weir.Connectors;

        namespace Joins;

        public readonly record struct Click(int User, long Ts);
        public readonly record struct Visit(int User, long Ts);

        public struct Clicks : IRecordGenerator<Click>
        {
            public Click Generate(long index) => new((int)(index % 7), index * 10);
        }

        public struct Visits : IRecordGenerator<Visit>
        {
            public Visit Generate(long index) => new((int)(index % 5), index * 30);
        }

        public struct Pair : IJoinFunction<Click, Visit, long>
        {
            public long Join(in Click first, in Visit second) => first.Ts - second.Ts;
        }

        public struct Near : IProcessJoinFunction<Click, Visit, long>
        {
            public void Process(in Click left, in Visit right, ref Collector<long> output) => output.Collect(right.Ts - left.Ts);
        }

        public struct LastSeen : IKeyedCoProcessFunction<int, Click, Visit, long>, IKeyedTimerFunction<int, long>
        {
            [State("last")] private ValueState<long> _last;

            public void ProcessElement1(in Click value, ProcessContext<int> context, ref Collector<long> output)
            {
                _last.Value = value.Ts;
                context.RegisterEventTimeTimer(value.Ts + 100);
            }

            public void ProcessElement2(in Visit value, ProcessContext<int> context, ref Collector<long> output)
                => output.Collect(value.Ts - _last.Value);

            public void OnTimer(long timestamp, ProcessContext<int> context, ref Collector<long> output)
                => output.Collect(_last.Value);
        }

        [Job("joins")]
        public static partial class JoinsJob
        {
            [Pipeline]
            private static void Define(PipelineBuilder p, long count = 1000)
            {
                var visits = p.Source("visits", Sources.Generate<Visit, Visits>(count))
                    .AssignTimestampsAndWatermarks(v => v.Ts, WatermarkStrategy.ForMonotonousTimestamps<Visit>())
                    .KeyBy(v => v.User);
                var clicks = p.Source("clicks", Sources.Generate<Click, Clicks>(count))
                    .AssignTimestampsAndWatermarks(c => c.Ts, WatermarkStrategy.ForMonotonousTimestamps<Click>())
                    .KeyBy(c => c.User);
                clicks.Join(visits).Window(Windows.Tumbling(TimeSpan.FromSeconds(1))).Apply("window-join", new Pair()).Sink("a", Sinks.Discard<long>());
                clicks.IntervalJoin(visits).Between(TimeSpan.FromMilliseconds(-50), TimeSpan.FromMilliseconds(50)).Process("interval-join", new Near()).Sink("b", Sinks.Discard<long>());
                clicks.Connect(visits).Process("last-seen", new LastSeen()).Sink("c", Sinks.Discard<long>());
            }
        }
        """);

    [Fact]
    public void KeyedBroadcastProcess() => AssertBaseline(nameof(KeyedBroadcastProcess), """
        using Weir;

        namespace Payments;

        [MemoryPack.MemoryPackable(MemoryPack.GenerateType.VersionTolerant)]
        public readonly partial record struct Limit([property: MemoryPack.MemoryPackOrder(0)] string Merchant, [property: MemoryPack.MemoryPackOrder(1)] decimal Max);

        public readonly record struct Payment(string Account, string Merchant, decimal Amount);

        public struct OverLimit : IKeyedBroadcastProcessFunction<string, Payment, Limit, string>
        {
            [BroadcastState("limits")]
            private ReadOnlyBroadcastState<string, Limit> _limits;

            [State("payments", TimeToLive = "10m")]
            private ListState<decimal> _payments;

            public void ProcessElement(in Payment value, ProcessContext<string> context, ref Collector<string> output)
            {
                _payments.Add(value.Amount);
                if (_limits.TryGetValue(value.Merchant, out Limit limit) && value.Amount > limit.Max)
                {
                    output.Collect(context.Key);
                }
            }

            public void ProcessBroadcastElement(in Limit value, BroadcastContext context, ref Collector<string> output)
                => context.GetBroadcastState(_limits).Put(value.Merchant, value);
        }

        [Job("over-limit")]
        public static partial class OverLimitJob
        {
            [Pipeline]
            private static void Define(PipelineBuilder p)
            {
                var limits = p.Source("limits", Sources.FromArray(new[] { new Limit("shop", 100m) })).Parallelism(1);
                p.Source("payments", Sources.FromArray(new[] { new Payment("a", "shop", 150m) }))
                    .KeyBy(payment => payment.Account)
                    .Connect(limits.Broadcast())
                    .Process("over-limit", new OverLimit())
                    .Filter(account => account.Length > 0)
                    .Sink("alerts", Sinks.TextLines("alerts"));
            }
        }
        """);

    private static void AssertBaseline(string name, string source, [CallerFilePath] string testFile = "")
    {
        GeneratorRun run = GeneratorHarness.Run(source);
        Assert.True(run.GeneratorDiagnostics.IsEmpty && !run.CompileProblems.Any(), run.Describe());
        string actual = Normalize(run.SingleSource);

        string fileName = name + ".g.cs.txt";
        string sourceDirectory = Path.Combine(Path.GetDirectoryName(testFile)!, "Baselines");
        if (Environment.GetEnvironmentVariable(UpdateVariable) == "1")
        {
            Directory.CreateDirectory(sourceDirectory);
            File.WriteAllText(Path.Combine(sourceDirectory, fileName), actual);
            return;
        }

        // The source tree when it is there (the usual case), else the copy next to the test assembly.
        string path = Path.Combine(sourceDirectory, fileName);
        if (!File.Exists(path))
        {
            path = Path.Combine(AppContext.BaseDirectory, "Baselines", fileName);
        }

        Assert.True(File.Exists(path), $"Baseline {fileName} is missing; run the tests with {UpdateVariable}=1 to create it.");
        string expected = Normalize(File.ReadAllText(path));
        if (expected != actual)
        {
            string[] expectedLines = expected.Split('\n');
            string[] actualLines = actual.Split('\n');
            int line = Enumerable.Range(0, Math.Min(expectedLines.Length, actualLines.Length)).FirstOrDefault(i => expectedLines[i] != actualLines[i], Math.Min(expectedLines.Length, actualLines.Length));
            Assert.Fail(
                $"Generated code differs from {fileName} at line {line + 1}:{Environment.NewLine}" +
                $"  expected: {(line < expectedLines.Length ? expectedLines[line] : "<end of file>")}{Environment.NewLine}" +
                $"  actual:   {(line < actualLines.Length ? actualLines[line] : "<end of file>")}{Environment.NewLine}" +
                $"If the change is intended, run the tests with {UpdateVariable}=1 and review the baseline diff.");
        }
    }

    private static string Normalize(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal).TrimStart('\uFEFF');
}
