using System.Threading.Tasks;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Testing;
using Xunit;

namespace Weir.Generator.Tests;

/// <summary>
/// A few diagnostics checked with Microsoft.CodeAnalysis.Testing, which verifies exact spans (from
/// <c>{|ID:...|}</c> markup), that no other diagnostic is reported, and that nothing is generated.
/// Its reference assemblies are the same as <see cref="GeneratorHarness"/>'s (the running shared
/// framework plus Weir), not a package it would download at test time.
/// </summary>
public sealed class VerifierTests
{
    private const string Usings = """
        using System;
        using Weir;

        namespace Tests;

        """;

    [Fact]
    public Task DuplicateOperatorIdSpan() => Verify("""
        [Job("dup")]
        public static partial class Dup
        {
            [Pipeline]
            private static void Define(PipelineBuilder p)
            {
                var numbers = p.Source("in", Sources.FromArray(new[] { 1 }));
                numbers.Sink("out", Sinks.Discard<int>());
                numbers.Sink({|WEIR0202:"out"|}, Sinks.Discard<int>());
            }
        }
        """);

    [Fact]
    public Task UnreachableOperatorSpanStartsAtTheOperator() => Verify("""
        [Job("dropped")]
        public static partial class Dropped
        {
            [Pipeline]
            private static void Define(PipelineBuilder p)
            {
                var numbers = p.Source("in", Sources.FromArray(new[] { 1 }));
                numbers.Sink("out", Sinks.Discard<int>());
                numbers
                    .Filter(x => x > 0)
                    .{|WEIR0103:Map(x => x + 1)|};
            }
        }
        """);

    [Fact]
    public Task LambdaCaptureSpan() => Verify("""
        [Job("capture")]
        public static partial class Capture
        {
            [Pipeline]
            private static void Define(PipelineBuilder p, int factor) => p
                .Source("in", Sources.FromArray(new[] { 1 }))
                .Map({|WEIR0006:x => x * factor|})
                .Sink("out", Sinks.Discard<int>());
        }
        """);

    [Fact]
    public Task JobClassShapeSpanIsTheName() => Verify("""
        [Job("shape")]
        public partial class {|WEIR0001:NotStatic|}
        {
            [Pipeline]
            private static void Define(PipelineBuilder p) => p
                .Source("in", Sources.FromArray(new[] { 1 }))
                .Sink("out", Sinks.Discard<int>());
        }
        """);

    private static Task Verify(string job)
    {
        var test = new CSharpSourceGeneratorTest<WeirGenerator, DefaultVerifier>
        {
            // No reference-assembly package: the references are added below, so nothing is downloaded.
            ReferenceAssemblies = new ReferenceAssemblies("net10.0"),
            TestState = { Sources = { Usings + job } },
        };
        test.TestState.AdditionalReferences.AddRange(GeneratorHarness.References);
        test.SolutionTransforms.Add((solution, projectId) =>
        {
            var project = solution.GetProject(projectId)!;
            return solution.WithProjectParseOptions(projectId, ((CSharpParseOptions)project.ParseOptions!).WithLanguageVersion(LanguageVersion.Latest))
                .WithProjectCompilationOptions(projectId, ((CSharpCompilationOptions)project.CompilationOptions!).WithNullableContextOptions(Microsoft.CodeAnalysis.NullableContextOptions.Enable));
        });
        return test.RunAsync();
    }
}
