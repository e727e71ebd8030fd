using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Weir.Generator.Tests;

/// <summary>The result of running <see cref="WeirGenerator"/> once over a compilation.</summary>
/// <param name="Driver">The driver after the run; run it again with an edited compilation to test caching.</param>
/// <param name="Input">The compilation the generator ran on.</param>
/// <param name="Output">The input plus the generated sources.</param>
/// <param name="RunResult">The generator's run result, with tracked steps.</param>
/// <param name="GeneratedSources">Hint name → generated text.</param>
/// <param name="GeneratorDiagnostics">Diagnostics reported by the generator (WEIRnnnn).</param>
/// <param name="CompileDiagnostics">The output compilation's diagnostics (user code plus generated code).</param>
internal sealed record GeneratorRun(
    GeneratorDriver Driver,
    Compilation Input,
    Compilation Output,
    GeneratorRunResult RunResult,
    IReadOnlyDictionary<string, string> GeneratedSources,
    ImmutableArray<Diagnostic> GeneratorDiagnostics,
    ImmutableArray<Diagnostic> CompileDiagnostics)
{
    /// <summary>Compile errors and warnings (hidden and info diagnostics are ignored).</summary>
    public IEnumerable<Diagnostic> CompileProblems => CompileDiagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning);

    /// <summary>The single generated source (fails when there is not exactly one).</summary>
    public string SingleSource => GeneratedSources.Count == 1
        ? GeneratedSources.Values.Single()
        : throw new InvalidOperationException($"Expected one generated source, got {GeneratedSources.Count}: {string.Join(", ", GeneratedSources.Keys)}");

    /// <summary>Generator and compiler diagnostics, one per line, for assertion messages.</summary>
    public string Describe() => string.Join(
        Environment.NewLine,
        GeneratorDiagnostics.Concat(CompileProblems).Select(d => d.ToString()));
}

/// <summary>
/// Runs Weir.Generator in-process over C# source text. References: the running test host's trusted
/// platform assemblies (the .NET 10 shared framework) plus Weir.Runtime and Weir.Attributes, so no
/// package is downloaded at test time.
/// </summary>
internal static class GeneratorHarness
{
    public const string DefaultPath = "Job.cs";

    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    private static readonly Lazy<ImmutableArray<MetadataReference>> s_references = new(LoadReferences);

    public static ImmutableArray<MetadataReference> References => s_references.Value;

    public static CSharpCompilation CreateCompilation(params string[] sources)
        => CreateCompilation(sources.Select((text, i) => Parse(text, i == 0 ? DefaultPath : $"Job{i}.cs")));

    public static CSharpCompilation CreateCompilation(IEnumerable<SyntaxTree> trees)
        => CSharpCompilation.Create(
            "Weir.Generator.Tests.Input",
            trees,
            References,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

    public static SyntaxTree Parse(string source, string path = DefaultPath)
        => CSharpSyntaxTree.ParseText(source, ParseOptions, path);

    /// <summary>A driver for the generator, given <paramref name="additionalTexts"/> (AdditionalFiles items such as state baselines).</summary>
    public static GeneratorDriver CreateDriver(params AdditionalText[] additionalTexts)
        => CSharpGeneratorDriver.Create(
            new[] { new WeirGenerator().AsSourceGenerator() },
            additionalTexts,
            ParseOptions,
            optionsProvider: null,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    /// <summary>Runs the generator on a fresh driver.</summary>
    public static GeneratorRun Run(params string[] sources) => Run(CreateDriver(), CreateCompilation(sources));

    /// <summary>Runs <paramref name="driver"/> (fresh or from an earlier run) on <paramref name="compilation"/>.</summary>
    public static GeneratorRun Run(GeneratorDriver driver, Compilation compilation)
    {
        driver = driver.RunGeneratorsAndUpdateCompilation(compilation, out Compilation output, out ImmutableArray<Diagnostic> diagnostics);
        GeneratorRunResult result = driver.GetRunResult().Results.Single();
        if (result.Exception is not null)
        {
            throw new InvalidOperationException("The generator threw.", result.Exception);
        }

        var sources = result.GeneratedSources.ToDictionary(s => s.HintName, s => s.SourceText.ToString(), StringComparer.Ordinal);
        return new GeneratorRun(driver, compilation, output, result, sources, diagnostics, output.GetDiagnostics());
    }

    /// <summary>Runs the generator with AdditionalFiles items (path and text) on a fresh driver.</summary>
    public static GeneratorRun Run(IEnumerable<(string Path, string Text)> additionalFiles, params string[] sources)
        => Run(CreateDriver(additionalFiles.Select(f => (AdditionalText)new InMemoryAdditionalText(f.Path, f.Text)).ToArray()), CreateCompilation(sources));

    /// <summary>The 0-based line of the first line of <paramref name="source"/> containing <paramref name="text"/>.</summary>
    public static int LineOf(string source, string text)
    {
        string[] lines = source.Replace("\r\n", "\n").Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].Contains(text, StringComparison.Ordinal))
            {
                return i;
            }
        }

        throw new ArgumentException($"'{text}' is not in the source.", nameof(text));
    }

    private static ImmutableArray<MetadataReference> LoadReferences()
    {
        string trusted = AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") as string
            ?? throw new InvalidOperationException("TRUSTED_PLATFORM_ASSEMBLIES is not set.");
        var paths = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string path in trusted.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            paths.Add(path);
        }

        // The host's list holds the test's own dependencies too (Roslyn, xunit, the Weir assemblies);
        // only the shared framework, Weir and MemoryPack (which users mark state types with) are meant
        // to be visible to the code under test.
        string framework = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var references = paths
            .Where(p => string.Equals(Path.GetDirectoryName(p), framework, StringComparison.Ordinal))
            .Append(typeof(PipelineBuilder).Assembly.Location)
            .Append(typeof(JobAttribute).Assembly.Location)
            .Append(typeof(MemoryPack.MemoryPackableAttribute).Assembly.Location)
            .Distinct(StringComparer.Ordinal)
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .ToImmutableArray();
        return references;
    }
}

/// <summary>An AdditionalFiles item held in memory.</summary>
internal sealed class InMemoryAdditionalText : AdditionalText
{
    private readonly Microsoft.CodeAnalysis.Text.SourceText _text;

    public InMemoryAdditionalText(string path, string text)
    {
        Path = path;
        _text = Microsoft.CodeAnalysis.Text.SourceText.From(text);
    }

    public override string Path { get; }

    public override Microsoft.CodeAnalysis.Text.SourceText GetText(System.Threading.CancellationToken cancellationToken = default) => _text;
}
