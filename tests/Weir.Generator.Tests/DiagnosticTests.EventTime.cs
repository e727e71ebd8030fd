using Microsoft.CodeAnalysis;
using Xunit;

namespace Weir.Generator.Tests;

/// <summary>The event-time diagnostics: windows that could never fire or merge, and late outputs that lead nowhere.</summary>
public sealed partial class DiagnosticTests
{
    private const string ClickTypes = """
        public readonly record struct Click(string Url, long Ts);

        public struct CountClicks : IAggregateFunction<Click, long, long>
        {
            public long CreateAccumulator() => 0;
            public void Add(in Click value, ref long accumulator) => accumulator++;
            public long GetResult(in long accumulator) => accumulator;
        }

        """;

    [Fact]
    public void WEIR0401_WindowWithoutTimestampsUpstream()
    {
        string source = Usings + ClickTypes + """
            [Job("untimed")]
            public static partial class UntimedJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p)
                    => p.Source("in", Sources.FromArray(new[] { new Click("a", 1) }))
                        .KeyBy(c => c.Url)
                        .Window(Windows.Tumbling(System.TimeSpan.FromMinutes(1)))
                        .Aggregate("counts", new CountClicks())
                        .Sink("out", Sinks.Discard<long>());
            }
            """;
        Diagnostic diagnostic = AssertOnly(source, "WEIR0401", ".Aggregate(\"counts\", new CountClicks())");
        Assert.Contains("'counts'", diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture), System.StringComparison.Ordinal);
    }

    [Fact]
    public void WEIR0402_SessionWindowAggregateCannotMerge()
    {
        string source = Usings + ClickTypes + """
            [Job("sessions")]
            public static partial class SessionsJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p)
                    => p.Source("in", Sources.FromArray(new[] { new Click("a", 1) }))
                        .AssignTimestampsAndWatermarks(c => c.Ts, WatermarkStrategy.ForMonotonousTimestamps<Click>())
                        .KeyBy(c => c.Url)
                        .Window(Windows.Session(System.TimeSpan.FromMinutes(5)))
                        .Aggregate("sessions", new CountClicks())
                        .Sink("out", Sinks.Discard<long>());
            }
            """;
        Diagnostic diagnostic = AssertOnly(source, "WEIR0402", ".Aggregate(\"sessions\", new CountClicks())");
        Assert.Contains("CountClicks", diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture), System.StringComparison.Ordinal);
    }

    [Fact]
    public void WEIR0402_NotReportedForAMergeableAggregate()
    {
        string source = Usings + """
            public readonly record struct Click(string Url, long Ts);

            public struct MergingCount : IMergeableAggregateFunction<Click, long, long>
            {
                public long CreateAccumulator() => 0;
                public void Add(in Click value, ref long accumulator) => accumulator++;
                public long GetResult(in long accumulator) => accumulator;
                public long Merge(in long first, in long second) => first + second;
            }

            [Job("sessions")]
            public static partial class SessionsJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p)
                    => p.Source("in", Sources.FromArray(new[] { new Click("a", 1) }))
                        .AssignTimestampsAndWatermarks(c => c.Ts, WatermarkStrategy.ForMonotonousTimestamps<Click>())
                        .KeyBy(c => c.Url)
                        .Window(Windows.Session(System.TimeSpan.FromMinutes(5)))
                        .Aggregate("sessions", new MergingCount())
                        .Sink("out", Sinks.Discard<long>());
            }
            """;
        GeneratorRun run = GeneratorHarness.Run(source);
        Assert.Empty(run.GeneratorDiagnostics);
        Assert.DoesNotContain(run.CompileProblems, d => d.Severity == DiagnosticSeverity.Error);
    }

    [Fact]
    public void WEIR0403_LateOutputWithoutNewVariable()
    {
        string source = Usings + ClickTypes + """
            [Job("late")]
            public static partial class LateJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p)
                {
                    DataStream<Click> late = p.Source("other", Sources.FromArray(new[] { new Click("b", 2) }));
                    p.Source("in", Sources.FromArray(new[] { new Click("a", 1) }))
                        .AssignTimestampsAndWatermarks(c => c.Ts, WatermarkStrategy.ForMonotonousTimestamps<Click>())
                        .KeyBy(c => c.Url)
                        .Window(Windows.Tumbling(System.TimeSpan.FromMinutes(1)))
                        .SideOutputLateData(out late)
                        .Aggregate("counts", new CountClicks())
                        .Sink("out", Sinks.Discard<long>());
                    late.Sink("late", Sinks.Discard<Click>());
                }
            }
            """;
        AssertOnly(source, "WEIR0403", ".SideOutputLateData(out late)");
    }

    [Fact]
    public void WEIR0404_WindowJoinWithSessionWindows()
    {
        string source = Usings + """
            public readonly record struct Click(int User, long Ts);
            public readonly record struct Visit(int User, long Ts);

            public struct Pair : IJoinFunction<Click, Visit, string>
            {
                public string Join(in Click first, in Visit second) => first.User.ToString();
            }

            [Job("joins")]
            public static partial class JoinsJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p)
                {
                    var visits = p.Source("visits", Sources.FromArray(new[] { new Visit(1, 1) }))
                        .AssignTimestampsAndWatermarks(v => v.Ts, WatermarkStrategy.ForMonotonousTimestamps<Visit>())
                        .KeyBy(v => v.User);
                    p.Source("clicks", Sources.FromArray(new[] { new Click(1, 1) }))
                        .AssignTimestampsAndWatermarks(c => c.Ts, WatermarkStrategy.ForMonotonousTimestamps<Click>())
                        .KeyBy(c => c.User)
                        .Join(visits)
                        .Window(Windows.Session(System.TimeSpan.FromMinutes(5)))
                        .Apply("pairs", new Pair())
                        .Sink("out", Sinks.Discard<string>());
                }
            }
            """;
        AssertOnly(source, "WEIR0404", ".Apply(\"pairs\", new Pair())");
    }

    [Fact]
    public void WEIR0401_IntervalJoinWithAnUntimedSide()
    {
        string source = Usings + """
            public readonly record struct Click(int User, long Ts);
            public readonly record struct Visit(int User, long Ts);

            public struct Pair : IProcessJoinFunction<Click, Visit, string>
            {
                public void Process(in Click left, in Visit right, ref Collector<string> output) => output.Collect(left.User.ToString());
            }

            [Job("joins")]
            public static partial class JoinsJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p)
                {
                    var visits = p.Source("visits", Sources.FromArray(new[] { new Visit(1, 1) })).KeyBy(v => v.User);
                    p.Source("clicks", Sources.FromArray(new[] { new Click(1, 1) }))
                        .AssignTimestampsAndWatermarks(c => c.Ts, WatermarkStrategy.ForMonotonousTimestamps<Click>())
                        .KeyBy(c => c.User)
                        .IntervalJoin(visits)
                        .Between(System.TimeSpan.FromSeconds(-5), System.TimeSpan.FromSeconds(5))
                        .Process("pairs", new Pair())
                        .Sink("out", Sinks.Discard<string>());
                }
            }
            """;
        AssertOnly(source, "WEIR0401", ".Process(\"pairs\", new Pair())");
    }
}
