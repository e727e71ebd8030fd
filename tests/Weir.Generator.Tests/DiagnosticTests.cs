using System.Linq;
using Microsoft.CodeAnalysis;
using Weir.Generator.Diagnostics;
using Weir.Generator.Model;
using Xunit;

namespace Weir.Generator.Tests;

/// <summary>
/// One test (at least) per WEIR diagnostic, named after its ID: a minimal job that triggers exactly
/// that diagnostic, at the expected line, and gets no generated code. <see cref="DiagnosticCatalogTests"/>
/// checks that every descriptor has a test here.
/// </summary>
public sealed partial class DiagnosticTests
{
    private const string Usings = """
        using System;
        using Weir;
        using Weir.Connectors;

        namespace Tests;

        """;

    [Fact]
    public void WEIR0000_GeneratorError()
    {
        // WEIR0000 is reported when the parser throws, which only a bug in the generator can cause, so
        // no job source triggers it. Instead: it is in the catalog, is an error, and converts from the
        // equatable form the pipeline carries to a diagnostic with the job's name and the exception.
        DiagnosticDescriptor descriptor = DiagnosticCatalog.ById("WEIR0000");
        Assert.Same(DiagnosticDescriptors.GeneratorError, descriptor);
        Assert.Equal(DiagnosticSeverity.Error, descriptor.DefaultSeverity);
        Assert.True(descriptor.IsEnabledByDefault);

        Diagnostic diagnostic = DiagnosticInfo.Create(DiagnosticDescriptors.GeneratorError, null, "my-job", "InvalidOperationException: boom").ToDiagnostic();
        Assert.Equal("WEIR0000", diagnostic.Id);
        Assert.Equal(Location.None, diagnostic.Location);
        Assert.Equal("Weir.Generator failed on job 'my-job': InvalidOperationException: boom", diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void WEIR0001_JobClassNotStatic()
    {
        string source = Usings + """
            [Job("shape")]
            public partial class NotStatic
            {
                [Pipeline]
                private static void Define(PipelineBuilder p) => p
                    .Source("in", Sources.FromArray(new[] { 1 }))
                    .Sink("out", Sinks.Discard<int>());
            }
            """;
        AssertOnly(source, "WEIR0001", "public partial class NotStatic");
    }

    [Fact]
    public void WEIR0001_JobClassNotPartial()
    {
        string source = Usings + """
            [Job("shape")]
            public static class NotPartial
            {
                [Pipeline]
                private static void Define(PipelineBuilder p) => p
                    .Source("in", Sources.FromArray(new[] { 1 }))
                    .Sink("out", Sinks.Discard<int>());
            }
            """;
        AssertOnly(source, "WEIR0001", "public static class NotPartial");
    }

    [Fact]
    public void WEIR0001_JobClassNested()
    {
        string source = Usings + """
            public static partial class Outer
            {
                [Job("nested")]
                public static partial class Nested
                {
                    [Pipeline]
                    private static void Define(PipelineBuilder p) => p
                        .Source("in", Sources.FromArray(new[] { 1 }))
                        .Sink("out", Sinks.Discard<int>());
                }
            }
            """;
        AssertOnly(source, "WEIR0001", "public static partial class Nested");
    }

    [Fact]
    public void WEIR0001_JobClassGeneric()
    {
        // The generated part is not generic, so it would be a different class that nothing calls.
        string source = Usings + """
            [Job("generic")]
            public static partial class Generic<T>
            {
                [Pipeline]
                private static void Define(PipelineBuilder p) => p
                    .Source("in", Sources.FromArray(new[] { 1 }))
                    .Sink("out", Sinks.Discard<int>());
            }
            """;
        AssertOnly(source, "WEIR0001", "public static partial class Generic<T>");
    }

    [Fact]
    public void WEIR0002_NoPipelineMethod()
    {
        string source = Usings + """
            [Job("empty")]
            public static partial class Empty
            {
                private static void Define(PipelineBuilder p)
                {
                }
            }
            """;
        Diagnostic diagnostic = AssertOnly(source, "WEIR0002", "public static partial class Empty");
        Assert.Contains("found 0", diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture), System.StringComparison.Ordinal);
    }

    [Fact]
    public void WEIR0002_TwoPipelineMethods()
    {
        string source = Usings + """
            [Job("twice")]
            public static partial class Twice
            {
                [Pipeline]
                private static void First(PipelineBuilder p) => p
                    .Source("in", Sources.FromArray(new[] { 1 }))
                    .Sink("out", Sinks.Discard<int>());

                [Pipeline]
                private static void Second(PipelineBuilder p) => p
                    .Source("in", Sources.FromArray(new[] { 1 }))
                    .Sink("out", Sinks.Discard<int>());
            }
            """;
        Diagnostic diagnostic = AssertOnly(source, "WEIR0002", "public static partial class Twice");
        Assert.Contains("found 2", diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture), System.StringComparison.Ordinal);
    }

    [Fact]
    public void WEIR0003_PipelineMethodReturnsValue()
    {
        string source = Usings + """
            [Job("returns")]
            public static partial class Returns
            {
                [Pipeline]
                private static int Define(PipelineBuilder p) => 0;
            }
            """;
        AssertOnly(source, "WEIR0003", "private static int Define");
    }

    [Fact]
    public void WEIR0003_PipelineMethodWithoutBuilder()
    {
        string source = Usings + """
            [Job("no-builder")]
            public static partial class NoBuilder
            {
                [Pipeline]
                private static void Define(string input)
                {
                }
            }
            """;
        AssertOnly(source, "WEIR0003", "private static void Define");
    }

    [Fact]
    public void WEIR0004_UnsupportedStatement()
    {
        string source = Usings + """
            [Job("chatty")]
            public static partial class Chatty
            {
                [Pipeline]
                private static void Define(PipelineBuilder p)
                {
                    Console.WriteLine("defining");
                    p.Source("in", Sources.FromArray(new[] { 1 })).Sink("out", Sinks.Discard<int>());
                }
            }
            """;
        AssertOnly(source, "WEIR0004", "Console.WriteLine");
    }

    [Fact]
    public void WEIR0004_ControlFlow()
    {
        string source = Usings + """
            [Job("branchy")]
            public static partial class Branchy
            {
                [Pipeline]
                private static void Define(PipelineBuilder p, bool twice)
                {
                    var numbers = p.Source("in", Sources.FromArray(new[] { 1 }));
                    if (twice)
                    {
                        numbers = numbers.Map(x => x * 2);
                    }

                    numbers.Sink("out", Sinks.Discard<int>());
                }
            }
            """;
        AssertOnly(source, "WEIR0004", "if (twice)");
    }

    [Fact]
    public void WEIR0005_DelegateInField()
    {
        string source = Usings + """
            [Job("delegate")]
            public static partial class DelegateJob
            {
                private static readonly Func<int, int> s_twice = x => x * 2;

                [Pipeline]
                private static void Define(PipelineBuilder p) => p
                    .Source("in", Sources.FromArray(new[] { 1 }))
                    .Map(s_twice)
                    .Sink("out", Sinks.Discard<int>());
            }
            """;
        AssertOnly(source, "WEIR0005", ".Map(s_twice)");
    }

    [Fact]
    public void WEIR0006_LambdaCapturesParameter()
    {
        string source = Usings + """
            [Job("capture")]
            public static partial class Capture
            {
                [Pipeline]
                private static void Define(PipelineBuilder p, int factor) => p
                    .Source("in", Sources.FromArray(new[] { 1 }))
                    .Map(x => x * factor)
                    .Sink("out", Sinks.Discard<int>());
            }
            """;
        Diagnostic diagnostic = AssertOnly(source, "WEIR0006", ".Map(x => x * factor)");
        Assert.Contains("'factor'", diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture), System.StringComparison.Ordinal);
    }

    [Fact]
    public void WEIR0007_UnsupportedParameterType()
    {
        string source = Usings + """
            [Job("dated")]
            public static partial class Dated
            {
                [Pipeline]
                private static void Define(
                    PipelineBuilder p,
                    DateTime start) => p
                    .Source("in", Sources.FromArray(new[] { 1 }))
                    .Sink("out", Sinks.Discard<int>());
            }
            """;
        Diagnostic diagnostic = AssertOnly(source, "WEIR0007", "DateTime start");
        Assert.Contains("'start'", diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture), System.StringComparison.Ordinal);
    }

    [Fact]
    public void WEIR0101_PipelineWithoutSource()
    {
        string source = Usings + """
            [Job("nothing")]
            public static partial class Nothing
            {
                [Pipeline]
                private static void Define(PipelineBuilder p) => p.Parallelism(2);
            }
            """;
        AssertOnly(source, "WEIR0101", "private static void Define");
    }

    [Fact]
    public void WEIR0102_PipelineWithoutSink()
    {
        string source = Usings + """
            [Job("no-sink")]
            public static partial class NoSink
            {
                [Pipeline]
                private static void Define(PipelineBuilder p) => p
                    .Source("in", Sources.FromArray(new[] { 1 }))
                    .Map(x => x + 1);
            }
            """;
        AssertOnly(source, "WEIR0102", "private static void Define");
    }

    [Fact]
    public void WEIR0103_OperatorOutputDropped()
    {
        string source = Usings + """
            [Job("dropped")]
            public static partial class Dropped
            {
                [Pipeline]
                private static void Define(PipelineBuilder p)
                {
                    var numbers = p.Source("in", Sources.FromArray(new[] { 1, 2 }));
                    numbers.Sink("out", Sinks.Discard<int>());
                    numbers.Map(x => x + 1);
                }
            }
            """;
        Diagnostic diagnostic = AssertOnly(source, "WEIR0103", "numbers.Map(x => x + 1)");
        Assert.Contains("Map #2", diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture), System.StringComparison.Ordinal);
    }

    [Fact]
    public void WEIR0104_ZeroParallelism()
    {
        string source = Usings + """
            [Job("zero")]
            public static partial class Zero
            {
                [Pipeline]
                private static void Define(PipelineBuilder p) => p
                    .Source("in", Sources.FromArray(new[] { 1 }))
                    .Map(x => x + 1)
                    .Parallelism(0)
                    .Sink("out", Sinks.Discard<int>());
            }
            """;
        AssertOnly(source, "WEIR0104", ".Parallelism(0)");
    }

    [Fact]
    public void WEIR0104_ParallelismNotConstant()
    {
        string source = Usings + """
            [Job("runtime-parallelism")]
            public static partial class RuntimeParallelism
            {
                [Pipeline]
                private static void Define(PipelineBuilder p, int parallelism) => p
                    .Source("in", Sources.FromArray(new[] { 1 }))
                    .Sink("out", Sinks.Discard<int>())
                    .Parallelism(parallelism);
            }
            """;
        AssertOnly(source, "WEIR0104", ".Parallelism(parallelism)");
    }

    [Fact]
    public void WEIR0104_ParallelismAboveMaxParallelism()
    {
        string source = Usings + """
            [Job("too-wide")]
            public static partial class TooWide
            {
                [Pipeline]
                private static void Define(PipelineBuilder p) => p
                    .MaxParallelism(4)
                    .Source("in", Sources.FromArray(new[] { 1 }))
                    .Map(x => x + 1)
                    .Parallelism(8)
                    .Sink("out", Sinks.Discard<int>());
            }
            """;

        // Reported on the operator whose parallelism exceeds the limit.
        Diagnostic diagnostic = AssertOnly(source, "WEIR0104", ".Map(x => x + 1)");
        Assert.Contains("[1, 4]", diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture), System.StringComparison.Ordinal);
    }

    [Fact]
    public void WEIR0105_InvalidMaxParallelism()
    {
        string source = Usings + """
            [Job("max")]
            public static partial class Max
            {
                [Pipeline]
                private static void Define(PipelineBuilder p) => p
                    .MaxParallelism(40000)
                    .Source("in", Sources.FromArray(new[] { 1 }))
                    .Sink("out", Sinks.Discard<int>());
            }
            """;
        AssertOnly(source, "WEIR0105", ".MaxParallelism(40000)");
    }

    [Fact]
    public void WEIR0106_ParallelismAfterUnion()
    {
        string source = Usings + """
            [Job("union")]
            public static partial class UnionJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p)
                {
                    var a = p.Source("a", Sources.FromArray(new[] { 1 }));
                    var b = p.Source("b", Sources.FromArray(new[] { 2 }));
                    a.Union(b).Parallelism(2).Sink("out", Sinks.Discard<int>());
                }
            }
            """;
        AssertOnly(source, "WEIR0106", "a.Union(b).Parallelism(2)");
    }

    [Fact]
    public void WEIR0201_OperatorIdNotConstant()
    {
        string source = Usings + """
            [Job("id")]
            public static partial class IdJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p, string sourceId) => p
                    .Source(sourceId, Sources.FromArray(new[] { 1 }))
                    .Sink("out", Sinks.Discard<int>());
            }
            """;
        AssertOnly(source, "WEIR0201", ".Source(sourceId");
    }

    [Fact]
    public void WEIR0201_EmptyOperatorId()
    {
        string source = Usings + """
            [Job("id")]
            public static partial class IdJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p) => p
                    .Source("in", Sources.FromArray(new[] { 1 }))
                    .KeyBy(x => x)
                    .Reduce("", (a, b) => a + b)
                    .Sink("out", Sinks.Discard<int>());
            }
            """;
        AssertOnly(source, "WEIR0201", ".Reduce(\"\"");
    }

    [Fact]
    public void WEIR0202_DuplicateOperatorId()
    {
        string source = Usings + """
            [Job("dup")]
            public static partial class Dup
            {
                [Pipeline]
                private static void Define(PipelineBuilder p)
                {
                    var numbers = p.Source("in", Sources.FromArray(new[] { 1 }));
                    numbers.Sink("out", Sinks.Discard<int>());
                    numbers.Map(x => x * 2).Sink("out", Sinks.Discard<int>());
                }
            }
            """;
        Diagnostic diagnostic = AssertOnly(source, "WEIR0202", "numbers.Map(x => x * 2)");
        Assert.Contains("'out'", diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture), System.StringComparison.Ordinal);
    }

    [Fact]
    public void WEIR0203_KeyWithoutStableHash()
    {
        string source = Usings + """
            public sealed record Point(int X, int Y);

            [Job("points")]
            public static partial class Points
            {
                [Pipeline]
                private static void Define(PipelineBuilder p) => p
                    .Source("in", Sources.FromArray(new[] { 1, 2 }))
                    .KeyBy(x => new Point(x, x))
                    .Reduce("sum", (a, b) => a + b)
                    .Sink("out", Sinks.Discard<int>());
            }
            """;
        Diagnostic diagnostic = AssertOnly(source, "WEIR0203", ".KeyBy(x => new Point(x, x))");
        Assert.Contains("Tests.Point", diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture), System.StringComparison.Ordinal);
    }

    [Fact]
    public void WEIR0203_TupleWithUnstableElement()
    {
        string source = Usings + """
            [Job("tuple")]
            public static partial class TupleJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p) => p
                    .Source("in", Sources.FromArray(new[] { 1, 2 }))
                    .KeyBy(x => (x, x * 0.5))
                    .Reduce("sum", (a, b) => a + b)
                    .Sink("out", Sinks.Discard<int>());
            }
            """;
        AssertOnly(source, "WEIR0203", ".KeyBy(x => (x, x * 0.5))");
    }

    [Fact]
    public void WEIR0204_KeyedStateOnNonKeyedStream()
    {
        string source = Usings + """
            public struct Sum : IProcessFunction<int, long>
            {
                [State("sum")]
                private ValueState<long> _sum;

                public void Process(in int value, ref Collector<long> output)
                {
                    _sum.Value += value;
                    output.Collect(_sum.Value);
                }
            }

            [Job("unkeyed")]
            public static partial class Unkeyed
            {
                [Pipeline]
                private static void Define(PipelineBuilder p) => p
                    .Source("in", Sources.FromArray(new[] { 1 }))
                    .Process("sum", new Sum())
                    .Sink("out", Sinks.Discard<long>());
            }
            """;
        Diagnostic diagnostic = AssertOnly(source, "WEIR0204", ".Process(\"sum\", new Sum())");
        Assert.Contains("'sum'", diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture), System.StringComparison.Ordinal);
    }

    [Fact]
    public void WEIR0205_FunctionIsAClass()
    {
        string source = Usings + """
            public sealed class Doubler : IProcessFunction<int, int>
            {
                public void Process(in int value, ref Collector<int> output) => output.Collect(value * 2);
            }

            [Job("class-function")]
            public static partial class ClassFunction
            {
                [Pipeline]
                private static void Define(PipelineBuilder p) => p
                    .Source("in", Sources.FromArray(new[] { 1 }))
                    .Process("double", new Doubler())
                    .Sink("out", Sinks.Discard<int>());
            }
            """;
        AssertOnly(source, "WEIR0205", ".Process(\"double\", new Doubler())");
    }

    [Fact]
    public void WEIR0206_DuplicateStateName()
    {
        string source = Usings + """
            public struct Twice : IKeyedProcessFunction<int, int, int>
            {
                [State("n")]
                private ValueState<int> _first;

                [State("n")]
                private ValueState<int> _second;

                public void Process(in int value, ProcessContext<int> context, ref Collector<int> output)
                {
                    _first.Value = value;
                    _second.Value = value;
                    output.Collect(value);
                }
            }

            [Job("twice")]
            public static partial class TwiceJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p) => p
                    .Source("in", Sources.FromArray(new[] { 1 }))
                    .KeyBy(x => x)
                    .Process("twice", new Twice())
                    .Sink("out", Sinks.Discard<int>());
            }
            """;
        Diagnostic diagnostic = AssertOnly(source, "WEIR0206", ".Process(\"twice\", new Twice())");
        Assert.Contains("'n'", diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture), System.StringComparison.Ordinal);
    }

    [Fact]
    public void WEIR0207_SinkUsesBuilder()
    {
        string source = Usings + """
            [Job("leaky")]
            public static partial class Leaky
            {
                [Pipeline]
                private static void Define(PipelineBuilder p) => p
                    .Source("in", Sources.FromArray(new[] { 1 }))
                    .Sink("out", DiscardFor(p));

                private static DiscardSink<int> DiscardFor(PipelineBuilder builder) => Sinks.Discard<int>();
            }
            """;
        AssertOnly(source, "WEIR0207", ".Sink(\"out\", DiscardFor(p))");
    }

    [Theory]
    [InlineData("10 minutes")]
    [InlineData("0s")]
    [InlineData("-5m")]
    [InlineData("m")]
    public void WEIR0208_InvalidTimeToLive(string ttl)
    {
        string source = Usings + """
            public struct Expiring : IKeyedProcessFunction<int, int, int>
            {
                [State("n", TimeToLive = "TTL")]
                private ValueState<int> _n;

                public void Process(in int value, ProcessContext<int> context, ref Collector<int> output)
                {
                    _n.Value = value;
                    output.Collect(value);
                }
            }

            [Job("expiring")]
            public static partial class ExpiringJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p) => p
                    .Source("in", Sources.FromArray(new[] { 1 }))
                    .KeyBy(x => x)
                    .Process("expiring", new Expiring())
                    .Sink("out", Sinks.Discard<int>());
            }
            """.Replace("TTL", ttl, System.StringComparison.Ordinal);
        Diagnostic diagnostic = AssertOnly(source, "WEIR0208", ".Process(\"expiring\", new Expiring())");
        Assert.Contains($"'{ttl}'", diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture), System.StringComparison.Ordinal);
    }

    [Fact]
    public void WEIR0208_ValidTimeToLiveIsAccepted()
    {
        foreach (string ttl in new[] { "250ms", "30s", "10m", "1.5h", "7d" })
        {
            Assert.NotNull(Weir.Generator.Parser.ParseDuration(ttl));
        }

        Assert.Equal(90_000, Weir.Generator.Parser.ParseDuration("1.5m"));
    }

    [Fact]
    public void WEIR0209_StateTypeNotSerializable()
    {
        string source = Usings + """
            public sealed class Basket
            {
                public string[] Items = System.Array.Empty<string>();
            }

            public struct Keeps : IKeyedProcessFunction<int, int, int>
            {
                [State("basket")]
                private ValueState<Basket> _basket;

                public void Process(in int value, ProcessContext<int> context, ref Collector<int> output)
                {
                    _basket.Value ??= new Basket();
                    output.Collect(value);
                }
            }

            [Job("keeps")]
            public static partial class KeepsJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p) => p
                    .Source("in", Sources.FromArray(new[] { 1 }))
                    .KeyBy(x => x)
                    .Process("keeps", new Keeps())
                    .Sink("out", Sinks.Discard<int>());
            }
            """;
        Diagnostic diagnostic = AssertOnly(source, "WEIR0209", ".Process(\"keeps\", new Keeps())");
        string message = diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains("Tests.Basket", message, System.StringComparison.Ordinal);
        Assert.Contains("state 'basket'", message, System.StringComparison.Ordinal);
    }

    [Fact]
    public void WEIR0209_SerializableStateTypesAreAccepted()
    {
        string source = Usings + """
            [MemoryPack.MemoryPackable(MemoryPack.GenerateType.VersionTolerant)]
            public partial class Basket
            {
                [MemoryPack.MemoryPackOrder(0)]
                public string[] Items { get; set; } = System.Array.Empty<string>();
            }

            public readonly record struct Point(int X, int Y);

            public struct Keeps : IKeyedProcessFunction<string, int, int>
            {
                [State] private ValueState<Basket> _basket;
                [State] private ListState<Point> _points;
                [State] private MapState<string, (int, System.Guid)> _map;
                [State] private ValueState<System.Collections.Generic.List<decimal>> _list;

                public void Process(in int value, ProcessContext<string> context, ref Collector<int> output)
                {
                    _points.Add(new Point(value, value));
                    output.Collect(value);
                }
            }

            [Job("keeps")]
            public static partial class KeepsJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p) => p
                    .Source("in", Sources.FromArray(new[] { 1 }))
                    .KeyBy(x => x.ToString())
                    .Process("keeps", new Keeps())
                    .Sink("out", Sinks.Discard<int>());
            }
            """;
        GeneratorRun run = GeneratorHarness.Run(source);
        Assert.Empty(run.GeneratorDiagnostics);
    }

    [Fact]
    public void WEIR0207_FunctionUsesStreamLocal()
    {
        string source = Usings + """
            public struct Tagger : IProcessFunction<int, int>
            {
                public Tagger(object tag)
                {
                }

                public void Process(in int value, ref Collector<int> output) => output.Collect(value);
            }

            [Job("leaky")]
            public static partial class Leaky
            {
                [Pipeline]
                private static void Define(PipelineBuilder p)
                {
                    var numbers = p.Source("in", Sources.FromArray(new[] { 1 }));
                    numbers.Process("tag", new Tagger(numbers)).Sink("out", Sinks.Discard<int>());
                }
            }
            """;
        AssertOnly(source, "WEIR0207", "new Tagger(numbers)");
    }


    private const string BroadcastFunction = """
        public readonly record struct Rule(string Name, int Limit);

        public struct Check : IKeyedBroadcastProcessFunction<int, int, Rule, int>
        {
            [BroadcastState("limits")] private ReadOnlyBroadcastState<string, int> _limits;

            public void ProcessElement(in int value, ProcessContext<int> context, ref Collector<int> output)
            {
                if (_limits.Contains("x"))
                {
                    output.Collect(value);
                }
            }

            public void ProcessBroadcastElement(in Rule rule, BroadcastContext context, ref Collector<int> output)
                => context.GetBroadcastState(_limits).Put(rule.Name, rule.Limit);
        }

        """;

    [Fact]
    public void WEIR0107_ConnectedStreamNotBroadcast()
    {
        string source = Usings + BroadcastFunction + """
            [Job("connected")]
            public static partial class ConnectedJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p)
                {
                    var rules = p.Source("rules", Sources.FromArray(new[] { new Rule("a", 1) }));
                    p.Source("in", Sources.FromArray(new[] { 1 }))
                        .KeyBy(x => x)
                        .Connect(rules)
                        .Process("check", new Check())
                        .Sink("out", Sinks.Discard<int>());
                }
            }
            """;
        Diagnostic diagnostic = AssertOnly(source, "WEIR0107", ".Connect(rules)");
        Assert.Contains(".Connect(rules.Broadcast())", diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture), System.StringComparison.Ordinal);
    }

    [Fact]
    public void WEIR0108_BroadcastFirstWithCommonUpstreamOperator()
    {
        string source = Usings + BroadcastFunction + """
            [Job("connected")]
            public static partial class ConnectedJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p)
                {
                    var numbers = p.Source("in", Sources.FromArray(new[] { 1 }));
                    numbers
                        .KeyBy(x => x)
                        .Connect(numbers.Map(x => new Rule("n", x)).Broadcast())
                        .BroadcastFirst()
                        .Process("check", new Check())
                        .Sink("out", Sinks.Discard<int>());
                }
            }
            """;
        Diagnostic diagnostic = AssertOnly(source, "WEIR0108", ".Process(\"check\", new Check())");
        Assert.Contains("Source 'in'", diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture), System.StringComparison.Ordinal);
    }

    [Fact]
    public void WEIR0108_IndependentInputsMayReadBroadcastFirst()
    {
        string source = Usings + BroadcastFunction + """
            [Job("connected")]
            public static partial class ConnectedJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p)
                {
                    var numbers = p.Source("in", Sources.FromArray(new[] { 1 }));
                    var rules = p.Source("rules", Sources.FromArray(new[] { new Rule("a", 1) }));
                    numbers.KeyBy(x => x).Connect(rules.Broadcast()).BroadcastFirst().Process("check", new Check()).Sink("out", Sinks.Discard<int>());
                }
            }
            """;
        GeneratorRun run = GeneratorHarness.Run(source);
        Assert.True(run.GeneratorDiagnostics.IsEmpty && !run.CompileProblems.Any(), run.Describe());
    }

    [Fact]
    public void WEIR0210_BroadcastStateInKeyedProcessFunction()
    {
        string source = Usings + """
            public struct NotConnected : IKeyedProcessFunction<int, int, int>
            {
                private ReadOnlyBroadcastState<string, int> _limits;

                public void Process(in int value, ProcessContext<int> context, ref Collector<int> output)
                {
                    if (_limits.Contains("x"))
                    {
                        output.Collect(value);
                    }
                }
            }

            [Job("not-connected")]
            public static partial class NotConnectedJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p) => p
                    .Source("in", Sources.FromArray(new[] { 1 }))
                    .KeyBy(x => x)
                    .Process("check", new NotConnected())
                    .Sink("out", Sinks.Discard<int>());
            }
            """;
        Diagnostic diagnostic = AssertOnly(source, "WEIR0210", ".Process(\"check\", new NotConnected())");
        Assert.Contains("broadcast state 'limits'", diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture), System.StringComparison.Ordinal);
    }

    [Fact]
    public void WEIR0211_WritableBroadcastStateField()
    {
        string source = Usings + """
            public readonly record struct Rule(string Name, int Limit);

            public struct Writes : IKeyedBroadcastProcessFunction<int, int, Rule, int>
            {
                private BroadcastState<string, int> _limits;

                public void ProcessElement(in int value, ProcessContext<int> context, ref Collector<int> output)
                    => _limits.Put("oops", value);

                public void ProcessBroadcastElement(in Rule rule, BroadcastContext context, ref Collector<int> output)
                    => _limits.Put(rule.Name, rule.Limit);
            }

            [Job("writes")]
            public static partial class WritesJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p)
                {
                    var rules = p.Source("rules", Sources.FromArray(new[] { new Rule("a", 1) }));
                    p.Source("in", Sources.FromArray(new[] { 1 }))
                        .KeyBy(x => x)
                        .Connect(rules.Broadcast())
                        .Process("writes", new Writes())
                        .Sink("out", Sinks.Discard<int>());
                }
            }
            """;
        Diagnostic diagnostic = AssertOnly(source, "WEIR0211", ".Process(\"writes\", new Writes())");
        Assert.Contains("ReadOnlyBroadcastState", diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture), System.StringComparison.Ordinal);
    }

    [Fact]
    public void WEIR0212_KeyedStateUsedInProcessBroadcastElement()
    {
        string source = Usings + """
            public readonly record struct Rule(string Name, int Limit);

            public struct Confused : IKeyedBroadcastProcessFunction<int, int, Rule, int>
            {
                [BroadcastState] private ReadOnlyBroadcastState<string, int> _limits;
                [State("count")] private ValueState<int> _count;

                public void ProcessElement(in int value, ProcessContext<int> context, ref Collector<int> output)
                    => _count.Value = _count.Value + 1;

                public void ProcessBroadcastElement(in Rule rule, BroadcastContext context, ref Collector<int> output)
                {
                    context.GetBroadcastState(_limits).Put(rule.Name, rule.Limit);
                    _count.Clear();
                }
            }

            [Job("confused")]
            public static partial class ConfusedJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p)
                {
                    var rules = p.Source("rules", Sources.FromArray(new[] { new Rule("a", 1) }));
                    p.Source("in", Sources.FromArray(new[] { 1 }))
                        .KeyBy(x => x)
                        .Connect(rules.Broadcast())
                        .Process("confused", new Confused())
                        .Sink("out", Sinks.Discard<int>());
                }
            }
            """;
        Diagnostic diagnostic = AssertOnly(source, "WEIR0212", ".Process(\"confused\", new Confused())");
        Assert.Contains("keyed state 'count'", diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture), System.StringComparison.Ordinal);
    }

    [Fact]
    public void WEIR0209_BroadcastStateValueNotSerializable()
    {
        string source = Usings + """
            public sealed class Matcher
            {
                public System.Func<int, bool> Test = _ => true;
            }

            public struct Matches : IKeyedBroadcastProcessFunction<int, int, Matcher, int>
            {
                [BroadcastState("matchers")] private ReadOnlyBroadcastState<string, Matcher> _matchers;

                public void ProcessElement(in int value, ProcessContext<int> context, ref Collector<int> output)
                {
                    if (_matchers.TryGetValue("only", out Matcher? matcher) && matcher.Test(value))
                    {
                        output.Collect(value);
                    }
                }

                public void ProcessBroadcastElement(in Matcher rule, BroadcastContext context, ref Collector<int> output)
                    => context.GetBroadcastState(_matchers).Put("only", rule);
            }

            [Job("matches")]
            public static partial class MatchesJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p)
                {
                    var rules = p.Source("rules", Sources.FromArray(new[] { new Matcher() }));
                    p.Source("in", Sources.FromArray(new[] { 1 }))
                        .KeyBy(x => x)
                        .Connect(rules.Broadcast())
                        .Process("matches", new Matches())
                        .Sink("out", Sinks.Discard<int>());
                }
            }
            """;
        Diagnostic diagnostic = AssertOnly(source, "WEIR0209", ".Process(\"matches\", new Matches())");
        Assert.Contains("broadcast state 'matchers'", diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture), System.StringComparison.Ordinal);
    }

    [Fact]
    public void WEIR0201_BroadcastConnectedProcessWithoutId()
    {
        string source = Usings + BroadcastFunction + """
            [Job("connected")]
            public static partial class ConnectedJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p, string id)
                {
                    var rules = p.Source("rules", Sources.FromArray(new[] { new Rule("a", 1) }));
                    p.Source("in", Sources.FromArray(new[] { 1 }))
                        .KeyBy(x => x)
                        .Connect(rules.Broadcast())
                        .Process(id, new Check())
                        .Sink("out", Sinks.Discard<int>());
                }
            }
            """;
        AssertOnly(source, "WEIR0201", ".Process(id, new Check())");
    }

    /// <summary>
    /// Runs the generator and asserts that it reports only <paramref name="id"/> (once), on the first
    /// line containing <paramref name="lineText"/>, that it generates nothing, and that the job's code
    /// is otherwise valid C#.
    /// </summary>
    private static Diagnostic AssertOnly(string source, string id, string lineText)
    {
        GeneratorRun run = GeneratorHarness.Run(source);
        Diagnostic diagnostic = Assert.Single(run.GeneratorDiagnostics);
        Assert.True(diagnostic.Id == id, $"Expected only {id}, got:{System.Environment.NewLine}{run.Describe()}");
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        Assert.Equal(GeneratorHarness.DefaultPath, diagnostic.Location.GetLineSpan().Path);
        Assert.Equal(GeneratorHarness.LineOf(source, lineText), diagnostic.Location.GetLineSpan().StartLinePosition.Line);
        Assert.Empty(run.GeneratedSources);
        Assert.DoesNotContain(run.CompileProblems, d => d.Severity == DiagnosticSeverity.Error);
        return diagnostic;
    }
}
