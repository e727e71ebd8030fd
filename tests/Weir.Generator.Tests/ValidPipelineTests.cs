using System.Linq;
using Xunit;

namespace Weir.Generator.Tests;

/// <summary>
/// One valid job per pipeline feature: the generator reports nothing, emits one file, and the job
/// plus its generated code compile with no error and no warning.
/// </summary>
public sealed class ValidPipelineTests
{
    private const string Usings = """
        using System;
        using Weir;
        using Weir.Connectors;

        namespace Tests;

        """;

    [Fact]
    public void Map()
    {
        string generated = AssertCompiles("""
            [Job("map")]
            public static partial class MapJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p) => p
                    .Source("in", Sources.FromArray(new[] { 1, 2, 3 }))
                    .Map(x => x.ToString(System.Globalization.CultureInfo.InvariantCulture))
                    .Map(Exclaim)
                    .Sink("out", Sinks.Discard<string>());

                private static string Exclaim(string text) => text + "!";
            }
            """);
        Assert.Contains("private static string __Weir_Map_1(int x)", generated, System.StringComparison.Ordinal);
        Assert.Contains("string mapped = Exclaim(value);", generated, System.StringComparison.Ordinal);
    }

    [Fact]
    public void Filter()
    {
        string generated = AssertCompiles("""
            [Job("filter")]
            public static partial class FilterJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p) => p
                    .Source("in", Sources.FromArray(new[] { 1, 2, 3 }))
                    .Filter(static x => x % 2 == 0)
                    .Filter(x =>
                    {
                        int half = x / 2;
                        return half > 0;
                    })
                    .Sink("out", Sinks.Discard<int>());
            }
            """);
        Assert.Contains("if (__Weir_Filter_1(value))", generated, System.StringComparison.Ordinal);
        Assert.Contains("if (__Weir_Filter_2(value))", generated, System.StringComparison.Ordinal);
    }

    [Fact]
    public void FlatMap()
    {
        string generated = AssertCompiles("""
            [Job("flat-map")]
            public static partial class FlatMapJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p) => p
                    .Source("in", Sources.FromArray(new[] { "a b", "c" }))
                    .FlatMap<string>((string line, ref Collector<string> output) =>
                    {
                        foreach (string word in line.Split(' '))
                        {
                            output.Collect(word);
                        }
                    })
                    .FlatMap<int>(Lengths)
                    .Sink("out", Sinks.Discard<int>());

                private static void Lengths(string word, ref Collector<int> output) => output.Collect(word.Length);
            }
            """);
        Assert.Contains("Lengths(value, ref output);", generated, System.StringComparison.Ordinal);
    }

    [Fact]
    public void KeyByAndReduce()
    {
        string generated = AssertCompiles("""
            [MemoryPack.MemoryPackable(MemoryPack.GenerateType.VersionTolerant)]
            public readonly partial record struct Count([property: MemoryPack.MemoryPackOrder(0)] string Word, [property: MemoryPack.MemoryPackOrder(1)] long N);

            [Job("reduce")]
            public static partial class ReduceJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p) => p
                    .Source("in", Sources.FromArray(new[] { "a", "b", "a" }))
                    .Map(word => new Count(word, 1))
                    .KeyBy(count => count.Word)
                    .Reduce("counts", (a, b) => a with { N = a.N + b.N })
                    .Sink("out", Sinks.Discard<Count>());
            }
            """);
        Assert.Contains("global::Weir.Execution.ExchangeKind.Hash", generated, System.StringComparison.Ordinal);
        Assert.Contains("__Weir_Reduce_2(previous, value)", generated, System.StringComparison.Ordinal);
    }

    [Fact]
    public void KeyedProcessWithValueState()
    {
        string generated = AssertCompiles("""
            public struct Deduplicate : IKeyedProcessFunction<string, string, string>
            {
                [State("seen")]
                private ValueState<bool> _seen;

                [State]
                private ValueState<long> _count;

                public void Process(in string value, ProcessContext<string> context, ref Collector<string> output)
                {
                    _count.Value++;
                    if (!_seen.Value)
                    {
                        _seen.Value = true;
                        output.Collect(context.Key);
                    }
                }
            }

            [Job("dedup")]
            public static partial class DedupJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p) => p
                    .Source("in", Sources.FromArray(new[] { "a", "b", "a" }))
                    .KeyBy(word => word)
                    .Process("dedup", new Deduplicate())
                    .Sink("out", Sinks.Discard<string>());
            }
            """);
        Assert.Contains("_state1.Value<bool>(new global::Weir.State.StateDescriptor(\"seen\", global::Weir.State.KeyedStateKind.Value, \"Weir.ValueState<bool>\", null), global::Weir.State.MemoryPackStateSerializer<bool>.Instance)", generated, System.StringComparison.Ordinal);
        Assert.Contains("_state1.Value<long>(new global::Weir.State.StateDescriptor(\"count\", global::Weir.State.KeyedStateKind.Value, \"Weir.ValueState<long>\", null), global::Weir.State.MemoryPackStateSerializer<long>.Instance)", generated, System.StringComparison.Ordinal);
    }

    [Fact]
    public void GenericStateTypesGetMemoryPackFormattersRegisteredForNativeAot()
    {
        string generated = AssertCompiles("""
            public struct Tally : IKeyedProcessFunction<(string Region, int Sensor), (string Region, int Sensor), long>
            {
                [State] private ValueState<(string Name, long Total)> _total;
                [State] private ListState<System.Collections.Generic.List<string>> _batches;
                [State] private MapState<string, System.Collections.Generic.Dictionary<string, long>> _nested;
                [State] private ValueState<(long A, long B)> _unmanaged;

                public void Process(in (string Region, int Sensor) value, ProcessContext<(string Region, int Sensor)> context, ref Collector<long> output)
                {
                    _total.Value = (value.Region, _total.Value.Total + 1);
                    _batches.Add(new System.Collections.Generic.List<string> { value.Region });
                    _nested.Put(value.Region, new System.Collections.Generic.Dictionary<string, long>());
                    _unmanaged.Value = (1, 2);
                    output.Collect(_total.Value.Total);
                }
            }

            [Job("tally")]
            public static partial class TallyJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p) => p
                    .Source("in", Sources.FromArray(new[] { ("north", 1) }))
                    .KeyBy(r => r)
                    .Process("tally", new Tally())
                    .Sink("out", Sinks.Discard<long>());
            }
            """);
        Assert.Contains("global::MemoryPack.MemoryPackFormatterProvider.Register(new global::MemoryPack.Formatters.ValueTupleFormatter<string, int>())", generated, System.StringComparison.Ordinal);
        Assert.Contains("global::MemoryPack.MemoryPackFormatterProvider.Register(new global::MemoryPack.Formatters.ValueTupleFormatter<string, long>())", generated, System.StringComparison.Ordinal);
        Assert.Contains("global::MemoryPack.MemoryPackFormatterProvider.RegisterCollection<global::System.Collections.Generic.List<string>, string>()", generated, System.StringComparison.Ordinal);
        Assert.Contains("global::MemoryPack.MemoryPackFormatterProvider.RegisterDictionary<global::System.Collections.Generic.Dictionary<string, long>, string, long>()", generated, System.StringComparison.Ordinal);
        Assert.DoesNotContain("ValueTupleFormatter<long, long>", generated, System.StringComparison.Ordinal);
    }

    [Fact]
    public void NonKeyedProcess()
    {
        string generated = AssertCompiles("""
            public struct Repeat : IProcessFunction<int, int>
            {
                private readonly int _times;

                public Repeat(int times) => _times = times;

                public void Process(in int value, ref Collector<int> output)
                {
                    for (int i = 0; i < _times; i++)
                    {
                        output.Collect(value);
                    }
                }
            }

            [Job("repeat")]
            public static partial class RepeatJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p, int times = 2) => p
                    .Source("in", Sources.FromArray(new[] { 1, 2 }))
                    .Process("repeat", new Repeat(times))
                    .Sink("out", Sinks.Discard<int>());
            }
            """);
        Assert.Contains("global::Tests.Repeat __function1 = new Repeat(times);", generated, System.StringComparison.Ordinal);
    }

    [Fact]
    public void Aggregate()
    {
        string generated = AssertCompiles("""
            public struct Average : IAggregateFunction<(string Key, double Value), (double Sum, long Count), double>
            {
                public (double Sum, long Count) CreateAccumulator() => (0, 0);

                public void Add(in (string Key, double Value) value, ref (double Sum, long Count) accumulator)
                    => accumulator = (accumulator.Sum + value.Value, accumulator.Count + 1);

                public double GetResult(in (double Sum, long Count) accumulator) => accumulator.Sum / accumulator.Count;
            }

            [Job("average")]
            public static partial class AverageJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p) => p
                    .Source("in", Sources.FromArray(new[] { ("a", 1.0), ("a", 2.0) }))
                    .KeyBy(pair => pair.Item1)
                    .Aggregate("average", new Average())
                    .Sink("out", Sinks.TextFiles<double>("out"));
            }
            """);
        Assert.Contains("CreateAccumulator()", generated, System.StringComparison.Ordinal);
    }

    [Fact]
    public void Union()
    {
        string generated = AssertCompiles("""
            [Job("union")]
            public static partial class UnionJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p)
                {
                    var a = p.Source("a", Sources.FromArray(new[] { 1 }));
                    var b = p.Source("b", Sources.FromArray(new[] { 2 }));
                    var c = p.Source("c", Sources.FromArray(new[] { 3 })).Map(x => x * 10);
                    a.Union(b, c).Sink("out", Sinks.Discard<int>());
                }
            }
            """);
        Assert.Contains("plan.Connect(0, 3, global::Weir.Execution.ExchangeKind.Forward);", generated, System.StringComparison.Ordinal);
        Assert.Contains("plan.Connect(1, 3, global::Weir.Execution.ExchangeKind.Forward);", generated, System.StringComparison.Ordinal);
        Assert.Contains("plan.Connect(2, 3, global::Weir.Execution.ExchangeKind.Forward);", generated, System.StringComparison.Ordinal);
    }

    [Fact]
    public void Rebalance()
    {
        string generated = AssertCompiles("""
            [Job("rebalance")]
            public static partial class RebalanceJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p) => p
                    .Source("in", Sources.FromArray(new[] { 1, 2 }))
                    .Rebalance()
                    .Map(x => x + 1)
                    .Sink("out", Sinks.Discard<int>());
            }
            """);
        Assert.Contains("plan.Connect(0, 1, global::Weir.Execution.ExchangeKind.Rebalance);", generated, System.StringComparison.Ordinal);
    }

    [Fact]
    public void Broadcast()
    {
        string generated = AssertCompiles("""
            [Job("broadcast")]
            public static partial class BroadcastJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p) => p
                    .Source("rules", Sources.FromArray(new[] { "r1" }))
                    .Broadcast()
                    .Sink("out", Sinks.TextLines("out"));
            }
            """);
        Assert.Contains("plan.Connect(0, 1, global::Weir.Execution.ExchangeKind.Broadcast);", generated, System.StringComparison.Ordinal);
    }

    [Fact]
    public void Parallelism()
    {
        string generated = AssertCompiles("""
            [Job("parallel")]
            public static partial class ParallelJob
            {
                private const int Width = 4;

                [Pipeline]
                private static void Define(PipelineBuilder p) => p
                    .Parallelism(2)
                    .MaxParallelism(256)
                    .Source("in", Sources.FromArray(new[] { 1, 2 }))
                    .Map(x => x + 1)
                    .Parallelism(Width)
                    .Sink("out", Sinks.Discard<int>())
                    .Parallelism(1);
            }
            """);
        Assert.Contains("new global::Weir.Execution.JobPlan(JobName, 2, 256);", generated, System.StringComparison.Ordinal);

        // Three parallelisms (default, 4, 1): three chains.
        Assert.Contains("plan.Connect(0, 1, global::Weir.Execution.ExchangeKind.Forward);", generated, System.StringComparison.Ordinal);
        Assert.Contains("plan.Connect(1, 2, global::Weir.Execution.ExchangeKind.Forward);", generated, System.StringComparison.Ordinal);
    }

    [Fact]
    public void FanOutToTwoSinks()
    {
        string generated = AssertCompiles("""
            [Job("fan-out")]
            public static partial class FanOutJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p)
                {
                    var numbers = p.Source("in", Sources.FromArray(new[] { 1, 2 }));
                    numbers.Filter(x => x > 1).Sink("big", Sinks.Discard<int>());
                    numbers.Sink("all", Sinks.Discard<int>());
                }
            }
            """);
        Assert.Contains("_edge0.Emit(in value);", generated, System.StringComparison.Ordinal);
        Assert.Contains("_edge1.Emit(in value);", generated, System.StringComparison.Ordinal);
    }

    [Fact]
    public void TupleKeys()
    {
        string generated = AssertCompiles("""
            [MemoryPack.MemoryPackable(MemoryPack.GenerateType.VersionTolerant)]
            public readonly partial record struct Click([property: MemoryPack.MemoryPackOrder(0)] string User, [property: MemoryPack.MemoryPackOrder(1)] int Page, [property: MemoryPack.MemoryPackOrder(2)] Guid Session);

            [Job("tuple-keys")]
            public static partial class TupleKeyJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p) => p
                    .Source("in", Sources.FromArray(new[] { new Click("u", 1, Guid.Empty) }))
                    .KeyBy(c => (c.User, c.Page, c.Session))
                    .Reduce("last", (_, latest) => latest)
                    .Sink("out", Sinks.Discard<Click>());
            }
            """);
        Assert.Contains(
            "global::Weir.StableHash.Combine(global::Weir.StableHash.Combine(global::Weir.StableHash.Of(key.Item1), global::Weir.StableHash.Of(key.Item2)), global::Weir.StableHash.Of(key.Item3))",
            generated,
            System.StringComparison.Ordinal);
    }

    [Fact]
    public void EnumKeys()
    {
        string generated = AssertCompiles("""
            public enum Color : byte
            {
                Red,
                Green,
            }

            public readonly record struct Paint(Color Color, int Litres);

            [Job("enum-keys")]
            public static partial class EnumKeyJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p) => p
                    .Source("in", Sources.FromArray(new[] { new Paint(Color.Red, 1) }))
                    .KeyBy(paint => paint.Color)
                    .Reduce("litres", (a, b) => a with { Litres = a.Litres + b.Litres })
                    .Sink("out", Sinks.Discard<Paint>());
            }
            """);
        Assert.Contains("global::Weir.StableHash.Of((byte)key)", generated, System.StringComparison.Ordinal);
    }

    [Fact]
    public void StableHashableKeys()
    {
        string generated = AssertCompiles("""
            public readonly record struct CustomerId(long Value) : IStableHashable
            {
                public ulong GetStableHash() => StableHash.Of(Value);
            }

            public readonly record struct Order(CustomerId Customer, decimal Amount);

            [Job("hashable-keys")]
            public static partial class HashableKeyJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p) => p
                    .Source("in", Sources.FromArray(new[] { new Order(new CustomerId(1), 2m) }))
                    .KeyBy(order => order.Customer)
                    .Reduce("totals", (a, b) => a with { Amount = a.Amount + b.Amount })
                    .Sink("out", Sinks.Discard<Order>());
            }
            """);
        Assert.Contains("global::Weir.StableHash.OfStableHashable(key)", generated, System.StringComparison.Ordinal);
    }

    [Fact]
    public void JobParametersWithDefaults()
    {
        string generated = AssertCompiles("""
            [Job("parameters")]
            public static partial class ParameterJob
            {
                private const string DefaultOutput = "out";

                [Pipeline]
                private static void Define(
                    PipelineBuilder p,
                    [Option("Input file.")] string input,
                    [Option("Output directory.", Name = "--to")] string output = DefaultOutput,
                    int repeat = 2,
                    long limit = 10L,
                    double ratio = 0.5,
                    bool verbose = false,
                    string? tag = null) => p
                    .Source("in", Sources.TextLines(input))
                    .Sink("out", Sinks.TextLines(output));
            }
            """);
        Assert.Contains("new global::Weir.Hosting.JobParameter<string>(\"input\", \"--input\", \"Input file.\"),", generated, System.StringComparison.Ordinal);
        Assert.Contains("new global::Weir.Hosting.JobParameter<string>(\"output\", \"--to\", \"Output directory.\", DefaultOutput),", generated, System.StringComparison.Ordinal);
        Assert.Contains("new global::Weir.Hosting.JobParameter<double>(\"ratio\", \"--ratio\", null, 0.5),", generated, System.StringComparison.Ordinal);
        Assert.Contains("public static global::Weir.Execution.JobPlan CreatePlan(string input, string output = DefaultOutput, int repeat = 2, long limit = 10L, double ratio = 0.5, bool verbose = false, string? tag = null)", generated, System.StringComparison.Ordinal);
    }

    [Fact]
    public void GlobalNamespaceAndBlockBody()
    {
        GeneratorRun run = GeneratorHarness.Run("""
            using Weir;

            [Job("global")]
            public static partial class GlobalJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p)
                {
                    var words = p.Source("in", Sources.FromArray(new[] { "a" }));
                    var upper = words.Map(w => w.ToUpperInvariant());
                    upper.Sink("out", Sinks.TextLines("out"));
                }
            }
            """);
        AssertClean(run);
        Assert.Equal("GlobalJob.Weir.g.cs", Assert.Single(run.GeneratedSources.Keys));
    }

    [Fact]
    public void GeneratedEntryPointIsCallable()
    {
        // User code can use the generated members (the same compilation sees them).
        GeneratorRun run = GeneratorHarness.Run(Usings + """
            [Job("callable")]
            public static partial class CallableJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p, string output) => p
                    .Source("in", Sources.FromArray(new[] { "a" }))
                    .Sink("out", Sinks.TextLines(output));

                public static int Main(string[] args) => Run(args);

                public static Weir.Execution.JobPlan Plan() => CreatePlan("out");

                public static string Name => JobName;
            }
            """);
        AssertClean(run);
    }

    [Fact]
    public void JobParametersNamedLikeGeneratedLocals()
    {
        // The plan factory's own locals must not clash with job parameters (they are in the same scope).
        AssertCompiles("""
            [Job("names")]
            public static partial class NamesJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p, string plan, string context, string arguments, string source0, string sink1) => p
                    .Source("in", Sources.TextLines(plan + context + arguments + source0))
                    .Sink("out", Sinks.TextLines(sink1));
            }
            """);
    }

    [Fact]
    public void NamedArgumentsInAnyOrder()
    {
        string generated = AssertCompiles("""
            [Job("named")]
            public static partial class NamedJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p) => p
                    .Source(source: Sources.FromArray(new[] { 1 }), id: "in")
                    .KeyBy(keySelector: x => x % 2)
                    .Reduce(reduce: (a, b) => a + b, id: "sum")
                    .Sink(sink: Sinks.Discard<int>(), id: "out")
                    .Parallelism(parallelism: 1);
            }
            """);
        Assert.Contains("new(\"sum\", \"Reduce\",", generated, System.StringComparison.Ordinal);
        Assert.Contains("__Weir_Reduce_1(previous, value)", generated, System.StringComparison.Ordinal);
    }

    [Fact]
    public void MultiLineStringsInLambdasAreCopiedExactly()
    {
        // Lambdas are copied into the generated file; re-indenting their lines would change the
        // contents of a multi-line verbatim string.
        string generated = AssertCompiles("""
            [Job("verbatim")]
            public static partial class VerbatimJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p) => p
                    .Source("in", Sources.FromArray(new[] { 1 }))
                    .Map(x => x + @"
            line two")
                    .Map(s =>
                    {
                        return s + $@"
            three {s.Length}";
                    })
                    .Sink("out", Sinks.Discard<string>());
            }
            """);
        Assert.Contains("x + @\"\nline two\";", generated, System.StringComparison.Ordinal);
        Assert.Contains("s + $@\"\nthree {s.Length}\";", generated, System.StringComparison.Ordinal);
    }

    [Fact]
    public void KeyedStreamSharedByTwoOperators()
    {
        string generated = AssertCompiles("""
            [Job("shared-key")]
            public static partial class SharedKeyJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p)
                {
                    var keyed = p.Source("in", Sources.FromArray(new[] { 1, 2, 3 })).KeyBy(x => x % 3);
                    keyed.Reduce("sum", (x, y) => x + y).Sink("sums", Sinks.Discard<int>());
                    keyed.Reduce("max", Math.Max).Sink("maxima", Sinks.Discard<int>());
                }
            }
            """);
        Assert.Contains("private static int __Weir_Key_1(int x)", generated, System.StringComparison.Ordinal);
        Assert.Contains("private static int __Weir_Key_3(int x)", generated, System.StringComparison.Ordinal);
        Assert.Contains("Math.Max(previous, value)", generated, System.StringComparison.Ordinal);
    }

    [Fact]
    public void MethodGroupKeySelector()
    {
        string generated = AssertCompiles("""
            [Job("method-group-key")]
            public static partial class MethodGroupKeyJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p) => p
                    .Source("in", Sources.FromArray(new[] { 1, 2, 3 }))
                    .KeyBy(KeyOf)
                    .Reduce("sum", (x, y) => x + y)
                    .Sink("out", Sinks.Discard<int>());

                private static long KeyOf(int x) => x % 3;
            }
            """);
        Assert.Contains("long key = KeyOf(value);", generated, System.StringComparison.Ordinal);
    }

    [Fact]
    public void NullableRecords()
    {
        AssertCompiles("""
            [Job("nullable")]
            public static partial class NullableJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p) => p
                    .Source("in", Sources.FromArray(new string?[] { "a", null }))
                    .Filter(x => x is not null)
                    .Map(x => x!.Length)
                    .Sink("out", Sinks.Discard<int>());
            }
            """);
    }

    [Fact]
    public void GeneratedSourceWithParameter()
    {
        string generated = AssertCompiles("""
            public struct Squares : IRecordGenerator<long>
            {
                public long Generate(long index) => index * index;
            }

            [Job("squares")]
            public static partial class SquaresJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p, long count = 100) => p
                    .Source("squares", Sources.Generate<long, Squares>(count))
                    .Sink("out", Sinks.TextFiles<long>("out"));
            }
            """);
        Assert.Contains("global::Weir.Connectors.GeneratorSource<long, global::Tests.Squares> __source0 = Sources.Generate<long, Squares>(count);", generated, System.StringComparison.Ordinal);
    }

    [Fact]
    public void KeyedStreamConnectedWithBroadcastStream()
    {
        string generated = AssertCompiles("""
            public readonly record struct Rule(string Name, int Limit);

            public struct Check : IKeyedBroadcastProcessFunction<int, int, Rule, string>
            {
                [BroadcastState("limits")] private ReadOnlyBroadcastState<string, int> _limits;
                [State(TimeToLive = "1m")] private ValueState<int> _seen;

                public void ProcessElement(in int value, ProcessContext<int> context, ref Collector<string> output)
                {
                    _seen.Value = _seen.Value + 1;
                    foreach (var limit in _limits)
                    {
                        if (value > limit.Value)
                        {
                            output.Collect(limit.Key);
                        }
                    }
                }

                public void ProcessBroadcastElement(in Rule rule, BroadcastContext context, ref Collector<string> output)
                    => context.GetBroadcastState(_limits).Put(rule.Name, rule.Limit);
            }

            [Job("connected")]
            public static partial class ConnectedJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p)
                {
                    var rules = p.Source("rules", Sources.FromArray(new[] { new Rule("high", 10) })).Parallelism(1);
                    p.Source("in", Sources.FromArray(new[] { 1, 20 }))
                        .KeyBy(x => x % 3)
                        .Connect(rules.Broadcast())
                        .BroadcastFirst()
                        .Process("check", new Check())
                        .Map(name => name.ToUpperInvariant())
                        .Sink("out", Sinks.Discard<string>());
                }
            }
            """);
        Assert.Contains("__plan.AddTwoInputChain<int, global::Tests.Rule, __WeirChain2>(__WeirChainInfo2, true,", generated, System.StringComparison.Ordinal);
        Assert.Contains("__plan.Connect(1, 2, global::Weir.Execution.ExchangeKind.Hash);", generated, System.StringComparison.Ordinal);
        Assert.Contains("__plan.Connect(0, 2, global::Weir.Execution.ExchangeKind.Broadcast, 1);", generated, System.StringComparison.Ordinal);
        Assert.Contains("private struct __WeirChain2 : global::Weir.CompilerServices.ITwoInputChainBody<int, global::Tests.Rule>", generated, System.StringComparison.Ordinal);
        Assert.Contains("_broadcastStates2.GetReadOnly<string, int>(\"limits\"", generated, System.StringComparison.Ordinal);
        Assert.Contains("_function2.ProcessBroadcastElement(in value, new global::Weir.BroadcastContext(_broadcastStates2), ref output);", generated, System.StringComparison.Ordinal);

        // The map after the connected operator is fused into its chain.
        Assert.Contains("Fused chain 2: check -> map-3", generated, System.StringComparison.Ordinal);
    }

    [Fact]
    public void TwoJobsInOneCompilation()
    {
        GeneratorRun run = GeneratorHarness.Run(Usings + """
            [Job("a")]
            public static partial class A
            {
                [Pipeline]
                private static void Define(PipelineBuilder p) => p.Source("in", Sources.FromArray(new[] { 1 })).Map(x => x + 1).Sink("out", Sinks.Discard<int>());
            }

            [Job("b")]
            public static partial class B
            {
                [Pipeline]
                private static void Define(PipelineBuilder p) => p.Source("in", Sources.FromArray(new[] { 1 })).Map(x => x - 1).Sink("out", Sinks.Discard<int>());
            }
            """);
        Assert.True(run.GeneratorDiagnostics.IsEmpty && !run.CompileProblems.Any(), run.Describe());
        Assert.Equal(new[] { "Tests.A.Weir.g.cs", "Tests.B.Weir.g.cs" }, run.GeneratedSources.Keys.Order(System.StringComparer.Ordinal));
    }

    private static string AssertCompiles(string job)
    {
        GeneratorRun run = GeneratorHarness.Run(Usings + job);
        AssertClean(run);
        return run.SingleSource;
    }

    private static void AssertClean(GeneratorRun run)
    {
        Assert.True(run.GeneratorDiagnostics.IsEmpty && !run.CompileProblems.Any(), run.Describe() + System.Environment.NewLine + string.Join(System.Environment.NewLine, run.GeneratedSources.Values));
        Assert.Single(run.GeneratedSources);
    }
}
