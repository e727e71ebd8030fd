using System;
using System.Linq;
using Weir.Generator.Model;
using Xunit;

namespace Weir.Generator.Tests;

/// <summary>The state manifest the generator builds: which operators and states, and how types are described.</summary>
public sealed class StateManifestTests
{
    private const string Source = """
        using System;
        using System.Collections.Generic;
        using Weir;

        namespace Shop;

        public enum Tier { Bronze, Gold }

        [MemoryPack.MemoryPackable(MemoryPack.GenerateType.VersionTolerant)]
        public partial class Node
        {
            [MemoryPack.MemoryPackOrder(1)] public Node[] Children { get; set; } = Array.Empty<Node>();
            [MemoryPack.MemoryPackOrder(0)] public string Name { get; set; } = "";
            [MemoryPack.MemoryPackIgnore] public int Depth => 0;
            [MemoryPack.MemoryPackInclude, MemoryPack.MemoryPackOrder(2)] private int _hidden = 1;
            private int _notSerialized = 2;
            public static int Static;
            public int Sum() => _hidden + _notSerialized;
        }

        public record struct Point(int X, double Y);

        public struct Keep : IKeyedProcessFunction<(string, Tier), string, string>
        {
            [State("tree")] private ValueState<Node> _tree;
            [State("points")] private ListState<Point> _points;
            [State("counts")] private MapState<Guid, int?> _counts;
            [State("bags")] private ValueState<List<(int Id, decimal Amount)>> _bags;

            public void Process(in string value, ProcessContext<(string, Tier)> context, ref Collector<string> output) => output.Collect(value);
        }

        [Job("shop")]
        public static partial class ShopJob
        {
            [Pipeline]
            private static void Define(PipelineBuilder p) => p
                .Source("in", Sources.FromArray(new[] { "a" }))
                .Map(word => word.ToUpperInvariant())
                .KeyBy(word => (word, Tier.Gold))
                .Process("keep", new Keep())
                .Sink("out", Sinks.Discard<string>());
        }
        """;

    [Fact]
    public void Only_stateful_operators_are_in_the_manifest_with_their_key_and_states()
    {
        StateManifestModel manifest = Manifest(Source);
        Assert.Equal("shop", manifest.Job);
        OperatorSchemaModel keep = Assert.Single(manifest.Operators);
        Assert.Equal(("keep", "Process"), (keep.Id, keep.Kind));
        Assert.Equal("System.ValueTuple<string, Shop.Tier>", keep.KeyType!.Name);
        Assert.Equal(new[] { "Builtin", "Enum" }, keep.KeyType.Arguments.Select(a => a.Layout));
        Assert.Equal(new[] { "tree:Value", "points:List", "counts:Map", "bags:Value" }, keep.States.Select(s => s.Name + ":" + s.Kind));
    }

    [Fact]
    public void Members_are_the_serialized_ones_in_MemoryPack_order_and_cycles_become_references()
    {
        TypeSchemaModel node = State("tree").Types.Single();
        Assert.Equal(("Shop.Node", "VersionTolerant"), (node.Name, node.Layout));
        Assert.Equal(new[] { "Name:0", "Children:1", "_hidden:2" }, node.Fields.Select(f => f.Name + ":" + f.Order));
        TypeSchemaModel children = node.Fields[1].Type;
        Assert.Equal("Shop.Node[]", children.Name);
        Assert.Equal(("Shop.Node", "Reference"), (children.Arguments[0].Name, children.Arguments[0].Layout));
    }

    [Fact]
    public void Unmanaged_structs_nullables_and_named_tuples_are_described_by_their_serialized_form()
    {
        TypeSchemaModel point = State("points").Types.Single();
        Assert.Equal(("Shop.Point", "Unmanaged"), (point.Name, point.Layout));
        Assert.Equal(new[] { "X:int", "Y:double" }, point.Fields.Select(f => f.Name + ":" + f.Type.Name));

        StateSchemaModel counts = State("counts");
        Assert.Equal(new[] { "System.Guid", "System.Nullable<int>" }, counts.Types.Select(t => t.Name));

        // Tuple element names are not serialized, so they are not part of the type's name.
        Assert.Equal("System.Collections.Generic.List<System.ValueTuple<int, decimal>>", State("bags").Types.Single().Name);
    }

    [Fact]
    public void Deep_types_are_cut_at_the_depth_limit()
    {
        string levels = string.Concat(Enumerable.Range(0, Parser.MaxSchemaDepth + 2).Select(i =>
            $"[MemoryPack.MemoryPackable(MemoryPack.GenerateType.VersionTolerant)] public partial record L{i}([property: MemoryPack.MemoryPackOrder(0)] L{i + 1}? Next);\n"));
        string source = Source.Replace("[State(\"tree\")] private ValueState<Node> _tree;", "[State(\"tree\")] private ValueState<L0> _tree;", StringComparison.Ordinal)
            + levels + $"[MemoryPack.MemoryPackable(MemoryPack.GenerateType.VersionTolerant)] public partial record L{Parser.MaxSchemaDepth + 2}([property: MemoryPack.MemoryPackOrder(0)] int End);\n";
        TypeSchemaModel type = State("tree", source).Types.Single();
        int depth = 0;
        while (type.Fields.Count > 0)
        {
            type = type.Fields[0].Type;
            depth++;
        }

        Assert.Equal(Parser.MaxSchemaDepth, depth);
        Assert.Equal(("Shop.L" + Parser.MaxSchemaDepth, "Reference"), (type.Name, type.Layout));
    }

    /// <summary>
    /// Window timers are state (<c>__timers</c>) exactly when the runtime keeps them in state: for
    /// session windows and declared lateness; a lateness of zero as written is none, and the
    /// generated operator is told the same, so the manifest never lists state that stays empty.
    /// </summary>
    [Theory]
    [InlineData("Windows.Tumbling(TimeSpan.FromMinutes(1))", "", false)]
    [InlineData("Windows.Tumbling(TimeSpan.FromMinutes(1))", ".AllowedLateness(TimeSpan.Zero)", false)]
    [InlineData("Windows.Tumbling(TimeSpan.FromMinutes(1))", ".AllowedLateness(TimeSpan.FromSeconds(0))", false)]
    [InlineData("Windows.Tumbling(TimeSpan.FromMinutes(1))", ".AllowedLateness(default)", false)]
    [InlineData("Windows.Tumbling(TimeSpan.FromMinutes(1))", ".AllowedLateness(TimeSpan.FromSeconds(30))", true)]
    [InlineData("Windows.Sliding(TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(10))", ".AllowedLateness(Lateness)", true)]
    [InlineData("Windows.Session(TimeSpan.FromMinutes(1))", "", true)]
    public void Window_timers_are_in_the_manifest_exactly_when_kept_in_state(string assigner, string lateness, bool timersInState)
    {
        string source = $$"""
            using System;
            using Weir;

            namespace Shop;

            public readonly record struct Click(string Url, long Ts);

            public struct Count : IMergeableAggregateFunction<Click, long, long>
            {
                public readonly long CreateAccumulator() => 0;
                public readonly void Add(in Click value, ref long accumulator) => accumulator++;
                public readonly long GetResult(in long accumulator) => accumulator;
                public readonly long Merge(in long a, in long b) => a + b;
            }

            [Job("clicks")]
            public static partial class ClickJob
            {
                public static TimeSpan Lateness = TimeSpan.Zero;

                [Pipeline]
                private static void Define(PipelineBuilder p) => p
                    .Source("in", Sources.FromArray(new[] { new Click("a", 1) }))
                    .AssignTimestampsAndWatermarks(c => c.Ts, WatermarkStrategy.ForBoundedOutOfOrderness<Click>(TimeSpan.FromSeconds(5)))
                    .KeyBy(c => c.Url)
                    .Window({{assigner}}){{lateness}}
                    .Aggregate("counts", new Count())
                    .Sink("out", Sinks.Discard<long>());
            }
            """;

        GeneratorRun run = GeneratorHarness.Run(source);
        Assert.True(run.GeneratorDiagnostics.IsEmpty && !run.CompileProblems.Any(), run.Describe());
        var job = Assert.IsType<JobModel>(run.RunResult.TrackedSteps[global::Weir.Generator.TrackingNames.JobModels].Single().Outputs.Single().Value);
        OperatorSchemaModel counts = Assert.Single(job.Manifest.Operators, o => o.Id == "counts");
        Assert.Equal(timersInState, counts.States.Any(s => s.Name == "__timers"));
        Assert.Contains($"timersInState: {(timersInState ? "true" : "false")}", run.SingleSource, StringComparison.Ordinal);
    }

    private static StateSchemaModel State(string name, string source = Source)
        => Manifest(source).Operators.Single().States.Single(s => s.Name == name);

    private static StateManifestModel Manifest(string source)
    {
        GeneratorRun run = GeneratorHarness.Run(source);
        Assert.True(run.GeneratorDiagnostics.IsEmpty && !run.CompileProblems.Any(), run.Describe());
        return Assert.IsType<JobModel>(run.RunResult.TrackedSteps[global::Weir.Generator.TrackingNames.JobModels].Single().Outputs.Single().Value).Manifest;
    }
}
