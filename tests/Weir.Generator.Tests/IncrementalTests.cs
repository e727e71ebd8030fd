using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Weir.Generator.Model;
using Xunit;

namespace Weir.Generator.Tests;

/// <summary>
/// Incremental behaviour: the models are values (equal when the pipeline is), hold no compilation
/// data, and every tracked step is cached on edits that do not touch a job.
/// </summary>
public sealed class IncrementalTests
{
    private const string ValidJob = """
        using System;
        using Weir;

        namespace Tests;

        [MemoryPack.MemoryPackable(MemoryPack.GenerateType.VersionTolerant)]
        public readonly partial record struct Count([property: MemoryPack.MemoryPackOrder(0)] string Word, [property: MemoryPack.MemoryPackOrder(1)] long N);

        [Job("counts")]
        public static partial class CountJob
        {
            [Pipeline]
            private static void Define(PipelineBuilder p, string output = "out") => p
                .Source("in", Sources.FromArray(new[] { "a", "b", "a" }))
                .Map(word => new Count(word, 1))
                .KeyBy(count => count.Word)
                .Reduce("counts", (a, b) => a with { N = a.N + b.N })
                .Map(count => count.Word + " " + count.N)
                .Sink("out", Sinks.TextLines(output));
        }
        """;

    private const string InvalidJob = """
        using Weir;

        namespace Tests;

        [Job("invalid")]
        public static partial class InvalidJob
        {
            [Pipeline]
            private static void Define(PipelineBuilder p) => p
                .Source("in", Sources.FromArray(new[] { 1 }))
                .Parallelism(0)
                .Sink("in", Sinks.Discard<int>());
        }
        """;

    // A state baseline of CountJob from before its "counts" operator existed: the schema check reports
    // the new operator (WEIR0308), so every schema step has an output to track.
    private const string BaselinePath = "/repo/counts.weirstate.json";
    private const string OldBaseline = """{ "formatVersion": 1, "job": "counts", "operators": [] }""";

    private static readonly IncrementalStepRunReason[] s_cached = { IncrementalStepRunReason.Cached, IncrementalStepRunReason.Unchanged };

    [Fact]
    public void UnrelatedFileAdded_EveryStepCached()
    {
        // A valid and an invalid job, so that every step has something to track (steps without
        // inputs, like the diagnostics of valid jobs only, are not recorded at all).
        GeneratorRun first = RunWithBaseline(ValidJob, InvalidJob);
        Assert.Single(first.GeneratedSources);
        Assert.Equal(new[] { "WEIR0104", "WEIR0202", "WEIR0308" }, first.GeneratorDiagnostics.Select(d => d.Id).Order(StringComparer.Ordinal));
        foreach (string step in StepNames())
        {
            IncrementalGeneratorRunStep[] steps = Assert.Contains(step, first.RunResult.TrackedSteps).ToArray();
            Assert.All(steps.SelectMany(s => s.Outputs), o => Assert.Equal(IncrementalStepRunReason.New, o.Reason));
        }

        Compilation edited = first.Input.AddSyntaxTrees(GeneratorHarness.Parse("namespace Other; public sealed class Unrelated { public int Value; }", "Unrelated.cs"));
        GeneratorRun second = GeneratorHarness.Run(first.Driver, edited);

        AssertAllCached(second);
        Assert.Equal(first.GeneratedSources, second.GeneratedSources);
        Assert.Equal(first.GeneratorDiagnostics.Select(d => d.ToString()), second.GeneratorDiagnostics.Select(d => d.ToString()));
    }

    [Fact]
    public void EditInJobFileKeepingThePipeline_ModelUnchanged()
    {
        GeneratorRun first = GeneratorHarness.Run(ValidJob);
        SyntaxTree tree = first.Input.SyntaxTrees.Single();
        string text = tree.ToString();
        SyntaxTree edited = tree.WithChangedText(Microsoft.CodeAnalysis.Text.SourceText.From(text + Environment.NewLine + "public static class Helpers { public static int Two => 2; }" + Environment.NewLine));
        GeneratorRun second = GeneratorHarness.Run(first.Driver, first.Input.ReplaceSyntaxTree(tree, edited));

        // The job's class was parsed again (its tree changed) but gave an equal model, so nothing after it ran.
        Assert.All(Outputs(second, global::Weir.Generator.TrackingNames.JobModels), o => Assert.Contains(o.Reason, s_cached));
        Assert.All(second.RunResult.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs), o => Assert.Contains(o.Reason, s_cached));
    }

    [Fact]
    public void PipelineEdit_ModelModified()
    {
        GeneratorRun first = GeneratorHarness.Run(ValidJob);
        SyntaxTree tree = first.Input.SyntaxTrees.Single();
        SyntaxTree edited = tree.WithChangedText(Microsoft.CodeAnalysis.Text.SourceText.From(tree.ToString().Replace(".Reduce(\"counts\"", ".Reduce(\"totals\"", StringComparison.Ordinal)));
        GeneratorRun second = GeneratorHarness.Run(first.Driver, first.Input.ReplaceSyntaxTree(tree, edited));

        Assert.Equal(IncrementalStepRunReason.Modified, Assert.Single(Outputs(second, global::Weir.Generator.TrackingNames.ParsedJobs)).Reason);
        Assert.Equal(IncrementalStepRunReason.Modified, Assert.Single(Outputs(second, global::Weir.Generator.TrackingNames.JobModels)).Reason);
        Assert.Equal(IncrementalStepRunReason.Modified, Assert.Single(second.RunResult.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs)).Reason);
        Assert.Contains("\"totals\"", second.SingleSource, StringComparison.Ordinal);
        Assert.Empty(second.CompileProblems);
    }

    [Fact]
    public void SameSourceTwice_EqualModels()
    {
        JobModel first = Model(GeneratorHarness.Run(ValidJob));
        JobModel second = Model(GeneratorHarness.Run(ValidJob));
        Assert.NotSame(first, second);
        Assert.Equal(first, second);
        Assert.Equal(first.GetHashCode(), second.GetHashCode());

        // And value equality is not vacuous: a changed pipeline gives a different model.
        JobModel changed = Model(GeneratorHarness.Run(ValidJob.Replace("count.Word + \" \"", "count.Word + \"\\t\"", StringComparison.Ordinal)));
        Assert.NotEqual(first, changed);
    }

    [Fact]
    public void ModelsHoldNoCompilationData()
    {
        GeneratorRun run = RunWithBaseline(ValidJob, InvalidJob);
        var visited = new HashSet<object>(ReferenceEqualityComparer.Instance);
        int values = 0;
        foreach (string step in StepNames())
        {
            foreach (IncrementalGeneratorRunStep runStep in run.RunResult.TrackedSteps[step])
            {
                foreach ((object value, IncrementalStepRunReason _) in runStep.Outputs)
                {
                    Walk(value, step, visited);
                    values++;
                }
            }
        }

        Assert.True(values > 0, "No tracked values to inspect.");
        Assert.Contains(visited, v => v is JobModel);
        Assert.Contains(visited, v => v is DiagnosticInfo);
        Assert.Contains(visited, v => v is JobSchemaModel);
        Assert.Contains(visited, v => v is BaselineFile);
    }

    [Fact]
    public void EditInJobFileKeepingThePipeline_SchemaCheckCached()
    {
        GeneratorRun first = RunWithBaseline(ValidJob);
        SyntaxTree tree = first.Input.SyntaxTrees.Single();
        SyntaxTree edited = tree.WithChangedText(Microsoft.CodeAnalysis.Text.SourceText.From(tree.ToString() + Environment.NewLine + "public static class Helpers { }" + Environment.NewLine));
        GeneratorRun second = GeneratorHarness.Run(first.Driver, first.Input.ReplaceSyntaxTree(tree, edited));

        foreach (string step in new[] { global::Weir.Generator.TrackingNames.JobSchemas, global::Weir.Generator.TrackingNames.SchemaDiagnostics, global::Weir.Generator.TrackingNames.StateBaselines })
        {
            Assert.All(Outputs(second, step), o => Assert.Contains(o.Reason, s_cached));
        }

        Assert.Equal("WEIR0308", Assert.Single(second.GeneratorDiagnostics).Id);
    }

    [Fact]
    public void BaselineEdited_OnlyTheSchemaCheckRuns()
    {
        var baseline = new InMemoryAdditionalText(BaselinePath, OldBaseline);
        GeneratorRun first = GeneratorHarness.Run(GeneratorHarness.CreateDriver(baseline), GeneratorHarness.CreateCompilation(ValidJob));
        Assert.Equal("WEIR0308", Assert.Single(first.GeneratorDiagnostics).Id);

        // Accept the change: the baseline becomes the job's current manifest.
        GeneratorDriver driver = first.Driver.ReplaceAdditionalText(baseline, new InMemoryAdditionalText(BaselinePath, DiagnosticTests.Baseline(ValidJob)));
        GeneratorRun second = GeneratorHarness.Run(driver, first.Input);

        Assert.Empty(second.GeneratorDiagnostics);
        foreach (string step in new[] { global::Weir.Generator.TrackingNames.ParsedJobs, global::Weir.Generator.TrackingNames.JobModels, global::Weir.Generator.TrackingNames.JobSchemas })
        {
            Assert.All(Outputs(second, step), o => Assert.Contains(o.Reason, s_cached));
        }

        Assert.Equal(IncrementalStepRunReason.Modified, Assert.Single(Outputs(second, global::Weir.Generator.TrackingNames.StateBaselines)).Reason);
        Assert.Equal(first.GeneratedSources, second.GeneratedSources);
    }

    /// <summary>Runs the generator with <see cref="OldBaseline"/> as the job's state baseline.</summary>
    private static GeneratorRun RunWithBaseline(params string[] sources)
        => GeneratorHarness.Run(new[] { (BaselinePath, OldBaseline) }, sources);

    private static void AssertAllCached(GeneratorRun run)
    {
        foreach (string step in StepNames())
        {
            IncrementalGeneratorRunStep[] steps = Assert.Contains(step, run.RunResult.TrackedSteps).ToArray();
            Assert.NotEmpty(steps);
            Assert.All(steps.SelectMany(s => s.Outputs), o => Assert.True(s_cached.Contains(o.Reason), $"Step {step}: output {o.Value} is {o.Reason}."));
        }

        (object Value, IncrementalStepRunReason Reason)[] outputs = run.RunResult.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs).ToArray();
        Assert.NotEmpty(outputs);
        Assert.All(outputs, o => Assert.True(s_cached.Contains(o.Reason), $"Output {o.Value} is {o.Reason}."));
    }

    private static IEnumerable<(object Value, IncrementalStepRunReason Reason)> Outputs(GeneratorRun run, string step)
        => run.RunResult.TrackedSteps[step].SelectMany(s => s.Outputs);

    private static JobModel Model(GeneratorRun run)
        => Assert.IsType<JobModel>(Assert.Single(Outputs(run, global::Weir.Generator.TrackingNames.JobModels)).Value);

    /// <summary>The values of the const strings of TrackingNames: every named step of the pipeline.</summary>
    private static string[] StepNames()
    {
        string[] names = typeof(global::Weir.Generator.TrackingNames)
            .GetFields(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(string))
            .Select(f => (string)f.GetRawConstantValue()!)
            .ToArray();
        Assert.NotEmpty(names);
        return names;
    }

    private static readonly Type[] s_forbidden =
    {
        typeof(ISymbol), typeof(Compilation), typeof(SemanticModel), typeof(SyntaxNode), typeof(SyntaxTree),
        typeof(SyntaxToken), typeof(SyntaxNodeOrToken), typeof(SyntaxReference), typeof(Location), typeof(AttributeData),
    };

    /// <summary>Fails when anything reachable from <paramref name="value"/> through fields is compilation data.</summary>
    private static void Walk(object? value, string path, HashSet<object> visited)
    {
        if (value is null)
        {
            return;
        }

        Type type = value.GetType();
        Type? forbidden = s_forbidden.FirstOrDefault(t => t.IsAssignableFrom(type));
        Assert.True(forbidden is null, $"{path} holds a {forbidden?.Name} ({type.FullName}), which keeps a compilation alive and defeats caching.");
        if (type.IsPrimitive || type.IsEnum || value is string || value is Type || value is decimal)
        {
            return;
        }

        if (!type.IsValueType && !visited.Add(value))
        {
            return;
        }

        if (value is IEnumerable items)
        {
            int i = 0;
            foreach (object? item in items)
            {
                Walk(item, $"{path}[{i++}]", visited);
            }
        }

        for (Type? t = type; t is not null && t != typeof(object); t = t.BaseType)
        {
            foreach (FieldInfo field in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                Walk(field.GetValue(value), path + "." + field.Name, visited);
            }
        }
    }
}
