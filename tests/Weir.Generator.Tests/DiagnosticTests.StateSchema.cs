using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Microsoft.CodeAnalysis;
using Weir.Generator.Model;
using Weir.State.Schema;
using Xunit;

namespace Weir.Generator.Tests;

/// <summary>
/// The state schema diagnostics (WEIR03xx): a job compiled against the committed baseline of an
/// earlier version of itself. The baseline is the JSON the runtime writes for the earlier version's
/// manifest (<c>StateManifest.ToJson</c>), so these tests also pin the generator's reading of it.
/// </summary>
public sealed partial class DiagnosticTests
{
    private const string CounterJob = """
        using System;
        using Weir;

        namespace Tests;

        public struct Counter : IKeyedProcessFunction<string, string, string>
        {
            [State("count")]
            private ValueState<long> _count;

            public void Process(in string value, ProcessContext<string> context, ref Collector<string> output) => output.Collect(value);
        }

        [Job("counter")]
        public static partial class CounterJob
        {
            [Pipeline]
            private static void Define(PipelineBuilder p) => p
                .Source("in", Sources.FromArray(new[] { "a" }))
                .KeyBy(word => word)
                .Process("counter", new Counter())
                .Sink("out", Sinks.Discard<string>());
        }
        """;

    private const string EventJob = """
        using System;
        using Weir;

        namespace Tests;

        [MemoryPack.MemoryPackable(MemoryPack.GenerateType.VersionTolerant)]
        public partial record Event([property: MemoryPack.MemoryPackOrder(0)] int A, [property: MemoryPack.MemoryPackOrder(1)] string B);

        public struct Keep : IKeyedProcessFunction<string, string, string>
        {
            [State("events")]
            private ListState<Event> _events;

            public void Process(in string value, ProcessContext<string> context, ref Collector<string> output) => output.Collect(value);
        }

        [Job("events")]
        public static partial class EventJob
        {
            [Pipeline]
            private static void Define(PipelineBuilder p) => p
                .Source("in", Sources.FromArray(new[] { "a" }))
                .KeyBy(word => word)
                .Process("keep", new Keep())
                .Sink("out", Sinks.Discard<string>());
        }
        """;

    [Fact]
    public void WEIR0301_StateKindChanged()
    {
        GeneratorRun run = RunAgainstBaseline(CounterJob, CounterJob.Replace("ValueState<long> _count", "ListState<long> _count", StringComparison.Ordinal));
        Diagnostic diagnostic = AssertOnlySchema(run, "WEIR0301", DiagnosticSeverity.Error, CounterJob, ".Process(\"counter\"");
        AssertMessage(diagnostic, "State 'count' of operator 'counter' changed kind from Value to List", "counter.weirstate.json", "CounterJob.StateManifestJson");
    }

    [Fact]
    public void WEIR0302_StateKeyTypeChanged()
    {
        string current = CounterJob
            .Replace("IKeyedProcessFunction<string, string, string>", "IKeyedProcessFunction<int, string, string>", StringComparison.Ordinal)
            .Replace("ProcessContext<string> context", "ProcessContext<int> context", StringComparison.Ordinal)
            .Replace(".KeyBy(word => word)", ".KeyBy(word => word.Length)", StringComparison.Ordinal);
        Diagnostic diagnostic = AssertOnlySchema(RunAgainstBaseline(CounterJob, current), "WEIR0302", DiagnosticSeverity.Error, current, ".Process(\"counter\"");
        AssertMessage(diagnostic, "The key type of operator 'counter' changed from string to int");
    }

    [Fact]
    public void WEIR0302_MapStateKeyTypeChanged()
    {
        string before = CounterJob.Replace("ValueState<long> _count", "MapState<string, long> _count", StringComparison.Ordinal);
        string after = CounterJob.Replace("ValueState<long> _count", "MapState<Guid, long> _count", StringComparison.Ordinal);
        Diagnostic diagnostic = AssertOnlySchema(RunAgainstBaseline(before, after), "WEIR0302", DiagnosticSeverity.Error, after, ".Process(\"counter\"");
        AssertMessage(diagnostic, "map key type of state 'count' of operator 'counter' changed from string to System.Guid");
    }

    [Fact]
    public void WEIR0303_StateValueTypeChanged()
    {
        string current = CounterJob.Replace("ValueState<long> _count", "ValueState<int> _count", StringComparison.Ordinal);
        Diagnostic diagnostic = AssertOnlySchema(RunAgainstBaseline(CounterJob, current), "WEIR0303", DiagnosticSeverity.Error, current, ".Process(\"counter\"");
        AssertMessage(diagnostic, "value type of state 'count' of operator 'counter' changed from long to int");
    }

    [Fact]
    public void WEIR0304_StateFieldTypeChanged()
    {
        string current = EventJob.Replace("MemoryPackOrder(0)] int A", "MemoryPackOrder(0)] long A", StringComparison.Ordinal);
        Diagnostic diagnostic = AssertOnlySchema(RunAgainstBaseline(EventJob, current), "WEIR0304", DiagnosticSeverity.Error, current, ".Process(\"keep\"");
        AssertMessage(diagnostic, "Member 'Event.A'", "state 'events' of operator 'keep'", "from int to long");
    }

    [Fact]
    public void WEIR0305_StateLayoutIncompatible_UnmanagedStructGrew()
    {
        string before = CounterJob.Replace("ValueState<long> _count", "ValueState<Point> _count", StringComparison.Ordinal) + "\npublic record struct Point(int X, int Y);\n";
        string after = before.Replace("Point(int X, int Y)", "Point(int X, int Y, int Z)", StringComparison.Ordinal);
        Diagnostic diagnostic = AssertOnlySchema(RunAgainstBaseline(before, after), "WEIR0305", DiagnosticSeverity.Error, after, ".Process(\"counter\"");
        AssertMessage(diagnostic, "Member 'Point.Z'", "raw bytes");
    }

    [Fact]
    public void WEIR0305_StateLayoutIncompatible_MemberRemovedFromDefaultLayout()
    {
        string before = EventJob.Replace("MemoryPack.MemoryPackable(MemoryPack.GenerateType.VersionTolerant)", "MemoryPack.MemoryPackable", StringComparison.Ordinal);
        string after = before.Replace(", [property: MemoryPack.MemoryPackOrder(1)] string B", string.Empty, StringComparison.Ordinal);
        GeneratorRun run = RunAgainstBaseline(before, after);

        // The default layout is also what WEIR0309 warns about.
        Assert.Equal(new[] { "WEIR0305", "WEIR0309" }, run.GeneratorDiagnostics.Select(d => d.Id).Order(StringComparer.Ordinal));
        Diagnostic diagnostic = run.GeneratorDiagnostics.Single(d => d.Id == "WEIR0305");
        AssertMessage(diagnostic, "Member 'Event.B'", "default layout reads members by position");
    }

    [Fact]
    public void WEIR0305_StateLayoutIncompatible_LayoutSwitched()
    {
        string after = EventJob.Replace("MemoryPack.MemoryPackable(MemoryPack.GenerateType.VersionTolerant)", "MemoryPack.MemoryPackable", StringComparison.Ordinal);
        GeneratorRun run = RunAgainstBaseline(EventJob, after);
        Assert.Equal(new[] { "WEIR0305", "WEIR0309" }, run.GeneratorDiagnostics.Select(d => d.Id).Order(StringComparer.Ordinal));
        AssertMessage(run.GeneratorDiagnostics.Single(d => d.Id == "WEIR0305"), "from VersionTolerant to Object");
    }

    [Fact]
    public void WEIR0306_StatefulOperatorRemoved()
    {
        string before = CounterJob.Replace(
            ".Process(\"counter\", new Counter())",
            ".Process(\"counter\", new Counter())\n            .KeyBy(word => word)\n            .Reduce(\"longest\", (a, b) => a.Length >= b.Length ? a : b)",
            StringComparison.Ordinal);
        Diagnostic diagnostic = AssertOnlySchema(RunAgainstBaseline(before, CounterJob), "WEIR0306", DiagnosticSeverity.Warning, CounterJob, "public static partial class CounterJob");
        AssertMessage(diagnostic, "Operator 'longest' (Reduce, states 'value') is no longer in the job", "dropped on restore");
    }

    [Fact]
    public void WEIR0307_StateRemoved()
    {
        string before = CounterJob.Replace("private ValueState<long> _count;", "private ValueState<long> _count;\n    [State(\"seen\")]\n    private ListState<string> _seen;", StringComparison.Ordinal);
        Diagnostic diagnostic = AssertOnlySchema(RunAgainstBaseline(before, CounterJob), "WEIR0307", DiagnosticSeverity.Warning, CounterJob, ".Process(\"counter\"");
        AssertMessage(diagnostic, "State 'seen' (List) of operator 'counter' is no longer declared", "[State(\"seen\")]");
    }

    [Fact]
    public void WEIR0308_StateBaselineOutdated()
    {
        // Compatible: a member removed and one added (new order) in a version-tolerant type, and a new state.
        string after = EventJob
            .Replace(", [property: MemoryPack.MemoryPackOrder(1)] string B", ", [property: MemoryPack.MemoryPackOrder(2)] string? C", StringComparison.Ordinal)
            .Replace("private ListState<Event> _events;", "private ListState<Event> _events;\n    [State(\"total\")]\n    private ValueState<long> _total;", StringComparison.Ordinal);
        Diagnostic diagnostic = AssertOnlySchema(RunAgainstBaseline(EventJob, after), "WEIR0308", DiagnosticSeverity.Info, after, "public static partial class EventJob");
        AssertMessage(
            diagnostic,
            "The state schema of job 'events' changed compatibly since baseline events.weirstate.json",
            "Member 'Event.C'",
            "Member 'Event.B'",
            "State 'total' of operator 'keep' is new",
            "update the baseline: run the job binary with state-manifest --output events.weirstate.json (the text of EventJob.StateManifestJson)");
    }

    [Fact]
    public void WEIR0308_NewStatefulOperatorIsCompatible()
    {
        string after = CounterJob.Replace(
            ".Process(\"counter\", new Counter())",
            ".Process(\"counter\", new Counter())\n            .KeyBy(word => word)\n            .Reduce(\"longest\", (a, b) => a.Length >= b.Length ? a : b)",
            StringComparison.Ordinal);
        Diagnostic diagnostic = AssertOnlySchema(RunAgainstBaseline(CounterJob, after), "WEIR0308", DiagnosticSeverity.Info, after, "public static partial class CounterJob");
        AssertMessage(diagnostic, "Operator 'longest' is new");
    }

    [Fact]
    public void WEIR0308_NotReportedWhenTheSchemaEqualsTheBaseline()
    {
        GeneratorRun run = RunAgainstBaseline(EventJob, EventJob);
        Assert.True(run.GeneratorDiagnostics.IsEmpty, run.Describe());
        Assert.Single(run.GeneratedSources);
    }

    [Fact]
    public void WEIR0308_NoBaselineNoCheck()
    {
        // Without a baseline (or with only another job's), nothing is compared.
        GeneratorRun run = GeneratorHarness.Run(new[] { ("other.weirstate.json", Baseline(EventJob)) }, CounterJob.Replace("ValueState<long>", "ListState<long>", StringComparison.Ordinal));
        Assert.True(run.GeneratorDiagnostics.IsEmpty, run.Describe());
    }

    [Fact]
    public void WEIR0309_StateTypeNotVersionTolerant()
    {
        string source = EventJob.Replace("MemoryPack.MemoryPackable(MemoryPack.GenerateType.VersionTolerant)", "MemoryPack.MemoryPackable", StringComparison.Ordinal);
        GeneratorRun run = GeneratorHarness.Run(source);
        Diagnostic diagnostic = AssertOnlySchema(run, "WEIR0309", DiagnosticSeverity.Warning, source, ".Process(\"keep\"");
        AssertMessage(diagnostic, "Type 'Tests.Event' kept in state 'events' of operator 'keep'", "GenerateType.VersionTolerant");
        Assert.Empty(run.CompileProblems);
    }

    [Fact]
    public void WEIR0309_ReportedForNestedTypesAndReducedValues()
    {
        string source = """
            using Weir;

            namespace Tests;

            [MemoryPack.MemoryPackable]
            public partial record Inner(int X);

            [MemoryPack.MemoryPackable(MemoryPack.GenerateType.VersionTolerant)]
            public partial record Outer([property: MemoryPack.MemoryPackOrder(0)] string Key, [property: MemoryPack.MemoryPackOrder(1)] Inner[] Items);

            [Job("nested")]
            public static partial class NestedJob
            {
                [Pipeline]
                private static void Define(PipelineBuilder p) => p
                    .Source("in", Sources.FromArray(new[] { new Outer("a", new[] { new Inner(1) }) }))
                    .KeyBy(o => o.Key)
                    .Reduce("merge", (a, b) => a)
                    .Sink("out", Sinks.Discard<Outer>());
            }
            """;
        Diagnostic diagnostic = AssertOnlySchema(GeneratorHarness.Run(source), "WEIR0309", DiagnosticSeverity.Warning, source, ".Reduce(\"merge\"");
        AssertMessage(diagnostic, "Type 'Tests.Inner' kept in state 'value' of operator 'merge'");
    }

    [Fact]
    public void WEIR0310_StateBaselineUnreadable()
    {
        GeneratorRun run = GeneratorHarness.Run(new[] { ("/repo/counter.weirstate.json", "{ \"job\": \"counter\", \"operators\": [ { \"id\": 3 } ] }") }, CounterJob);
        Diagnostic diagnostic = Assert.Single(run.GeneratorDiagnostics);
        Assert.Equal(("WEIR0310", DiagnosticSeverity.Error), (diagnostic.Id, diagnostic.Severity));
        Assert.Equal("/repo/counter.weirstate.json", diagnostic.Location.GetLineSpan().Path);
        AssertMessage(diagnostic, "State baseline counter.weirstate.json cannot be read", "'id' is missing or not a string");

        Diagnostic malformed = Assert.Single(GeneratorHarness.Run(new[] { ("counter.weirstate.json", "{ \"job\": ") }, CounterJob).GeneratorDiagnostics);
        Assert.Equal("WEIR0310", malformed.Id);
        AssertMessage(malformed, "line 1: unexpected end of text");
    }

    [Fact]
    public void WEIR0310_BaselineOfAnotherJob()
    {
        Diagnostic diagnostic = Assert.Single(GeneratorHarness.Run(new[] { ("counter.weirstate.json", Baseline(EventJob)) }, CounterJob).GeneratorDiagnostics);
        Assert.Equal("WEIR0310", diagnostic.Id);
        AssertMessage(diagnostic, "it is the baseline of job 'events', not 'counter'");
    }

    /// <summary>Compiles <paramref name="current"/> with the baseline of <paramref name="before"/> (same job name).</summary>
    private static GeneratorRun RunAgainstBaseline(string before, string current)
    {
        string json = Baseline(before);
        string job = StateManifest.FromJson(json).Job;
        return GeneratorHarness.Run(new[] { ($"/repo/{job}.weirstate.json", json) }, current);
    }

    /// <summary>
    /// The baseline a user would commit for <paramref name="source"/>: its generated manifest in the
    /// runtime's canonical JSON.
    /// </summary>
    internal static string Baseline(string source)
    {
        GeneratorRun run = GeneratorHarness.Run(source);
        Assert.True(run.GeneratorDiagnostics.All(d => d.Severity < DiagnosticSeverity.Error), run.Describe());
        JobModel model = Assert.IsType<JobModel>(run.RunResult.TrackedSteps[global::Weir.Generator.TrackingNames.JobModels].Single().Outputs.Single().Value);
        return ToRuntime(model.Manifest).ToJson();
    }

    private static StateManifest ToRuntime(StateManifestModel manifest) => new(
        manifest.Job,
        manifest.Operators.Select(o => new OperatorStateSchema(
            o.Id,
            o.Kind,
            o.KeyType is null ? null : ToRuntime(o.KeyType),
            o.States.Select(s => new StateSchema(s.Name, s.Kind, s.Types.Select(ToRuntime).ToArray())).ToArray())).ToArray());

    private static TypeSchema ToRuntime(TypeSchemaModel type) => new(
        type.Name,
        type.Layout,
        type.Fields.Select(f => new FieldSchema(f.Name, f.Order, ToRuntime(f.Type))).ToArray(),
        type.Arguments.Select(ToRuntime).ToArray());

    /// <summary>
    /// Asserts that <paramref name="run"/> reports only <paramref name="id"/>, with <paramref name="severity"/>,
    /// on the line of <paramref name="source"/> holding <paramref name="lineText"/>, and that the job's code
    /// is still generated (schema diagnostics never stop generation) and compiles.
    /// </summary>
    private static Diagnostic AssertOnlySchema(GeneratorRun run, string id, DiagnosticSeverity severity, string source, string lineText)
    {
        Diagnostic diagnostic = Assert.Single(run.GeneratorDiagnostics);
        Assert.True(diagnostic.Id == id, $"Expected only {id}, got:{Environment.NewLine}{run.Describe()}");
        Assert.Equal(severity, diagnostic.Severity);
        Assert.Equal(GeneratorHarness.DefaultPath, diagnostic.Location.GetLineSpan().Path);
        Assert.Equal(GeneratorHarness.LineOf(source, lineText), diagnostic.Location.GetLineSpan().StartLinePosition.Line);
        Assert.Single(run.GeneratedSources);
        Assert.DoesNotContain(run.CompileProblems, d => d.Severity == DiagnosticSeverity.Error);
        return diagnostic;
    }

    private static void AssertMessage(Diagnostic diagnostic, params string[] parts)
    {
        string message = diagnostic.GetMessage(CultureInfo.InvariantCulture);
        foreach (string part in parts)
        {
            Assert.True(message.Contains(part, StringComparison.Ordinal), $"'{part}' is not in: {message}");
        }
    }
}
