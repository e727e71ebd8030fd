using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Weir.Generator.Model;

namespace Weir.Generator
{
    /// <summary>
    /// Compiles [Job] classes into fused operator chains. Pipeline: ForAttributeWithMetadataName on
    /// [Job] → Parser (symbols and syntax end here; the result is an equatable model plus equatable
    /// diagnostics) → three outputs: diagnostics, source from error-free models, and the state schema
    /// check of error-free jobs against their committed baselines (AdditionalFiles). Because the
    /// models are compared by value, an edit that does not change the pipeline regenerates nothing.
    /// </summary>
    [Generator(LanguageNames.CSharp)]
    public sealed class WeirGenerator : IIncrementalGenerator
    {
        /// <inheritdoc/>
        public void Initialize(IncrementalGeneratorInitializationContext context)
        {
            IncrementalValuesProvider<JobParseResult> parsed = context.SyntaxProvider
                .ForAttributeWithMetadataName(
                    Parser.JobAttribute,
                    static (node, _) => node is Microsoft.CodeAnalysis.CSharp.Syntax.ClassDeclarationSyntax,
                    static (ctx, cancellation) => Parser.Parse(ctx, cancellation))
                .WithTrackingName(TrackingNames.ParsedJobs);

            // Diagnostics get their own output so that a change in a diagnostic's position never
            // invalidates generated code, and generated code never waits on diagnostics.
            IncrementalValuesProvider<DiagnosticInfo> diagnostics = parsed
                .SelectMany(static (result, _) => result.Diagnostics)
                .WithTrackingName(TrackingNames.JobDiagnostics);
            context.RegisterSourceOutput(diagnostics, static (spc, diagnostic) => spc.ReportDiagnostic(diagnostic.ToDiagnostic()));

            IncrementalValuesProvider<JobModel> models = parsed
                .Where(static result => result.Model is not null)
                .Select(static (result, _) => result.Model!)
                .WithTrackingName(TrackingNames.JobModels);
            context.RegisterSourceOutput(models, static (spc, job) => spc.AddSource(Emitter.HintName(job), Emitter.Emit(job)));

            // The state schema check: each valid job's manifest against its committed baseline (an
            // AdditionalFiles item named {job}.weirstate.json). Only the baseline files' text enters the
            // pipeline, and the manifests carry no symbols, so unrelated edits leave this cached too.
            IncrementalValueProvider<ImmutableArray<BaselineFile>> baselines = context.AdditionalTextsProvider
                .Where(static text => SchemaCheck.IsBaseline(text.Path))
                .Select(static (text, cancellation) => new BaselineFile(text.Path, text.GetText(cancellation)?.ToString() ?? string.Empty))
                .WithTrackingName(TrackingNames.StateBaselines)
                .Collect();
            IncrementalValuesProvider<DiagnosticInfo> schemaDiagnostics = parsed
                .Where(static result => result.Schema is not null)
                .Select(static (result, _) => result.Schema!)
                .WithTrackingName(TrackingNames.JobSchemas)
                .Combine(baselines)
                .SelectMany(static (pair, _) => SchemaCheck.Check(pair.Left, pair.Right))
                .WithTrackingName(TrackingNames.SchemaDiagnostics);
            context.RegisterSourceOutput(schemaDiagnostics, static (spc, diagnostic) => spc.ReportDiagnostic(diagnostic.ToDiagnostic()));
        }
    }
}
