namespace Weir.Generator
{
    /// <summary>Names of the generator's pipeline steps; tests assert each is cached on unrelated edits.</summary>
    internal static class TrackingNames
    {
        public const string ParsedJobs = "Weir.ParsedJobs";
        public const string JobModels = "Weir.JobModels";
        public const string JobDiagnostics = "Weir.JobDiagnostics";
        public const string StateBaselines = "Weir.StateBaselines";
        public const string JobSchemas = "Weir.JobSchemas";
        public const string SchemaDiagnostics = "Weir.SchemaDiagnostics";
    }
}
