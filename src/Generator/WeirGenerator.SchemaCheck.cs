using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;
using Weir.Generator.Diagnostics;
using Weir.Generator.Helpers;
using Weir.Generator.Model;
using Weir.Generator.Schema;

namespace Weir.Generator
{
    /// <summary>
    /// Compares a job's state schema with its committed baseline (the AdditionalFiles item
    /// <c>{job name}.weirstate.json</c>) using the same rules as the restore-time check
    /// (<c>StateSchemaCompatibility</c>, shared with the runtime), and turns the changes into diagnostics.
    /// </summary>
    internal static class SchemaCheck
    {
        /// <summary>The file name ending of state baselines.</summary>
        public const string BaselineSuffix = ".weirstate.json";

        public static bool IsBaseline(string path) => path.EndsWith(BaselineSuffix, StringComparison.OrdinalIgnoreCase);

        public static string FileName(string path)
        {
            int slash = Math.Max(path.LastIndexOf('/'), path.LastIndexOf('\\'));
            return slash < 0 ? path : path.Substring(slash + 1);
        }

        public static EquatableArray<DiagnosticInfo> Check(JobSchemaModel job, ImmutableArray<BaselineFile> baselines)
        {
            string expected = job.Manifest.Job + BaselineSuffix;
            BaselineFile? file = baselines
                .Where(b => string.Equals(FileName(b.Path), expected, StringComparison.OrdinalIgnoreCase))
                .OrderBy(b => b.Path, StringComparer.Ordinal)
                .FirstOrDefault();
            if (file is null)
            {
                return EquatableArray<DiagnosticInfo>.Empty;
            }

            string name = FileName(file.Path);
            var fileLocation = new LocationInfo(file.Path, default, default);
            StateManifest baseline;
            try
            {
                baseline = ReadManifest(file.Text);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                return new EquatableArray<DiagnosticInfo>(new[] { DiagnosticInfo.At(DiagnosticDescriptors.StateBaselineUnreadable, fileLocation, name, ex.Message) });
            }

            if (baseline.Job != job.Manifest.Job)
            {
                return new EquatableArray<DiagnosticInfo>(new[]
                {
                    DiagnosticInfo.At(DiagnosticDescriptors.StateBaselineUnreadable, fileLocation, name, $"it is the baseline of job '{baseline.Job}', not '{job.Manifest.Job}'"),
                });
            }

            if (baseline.FormatVersion > StateManifest.CurrentFormatVersion)
            {
                return new EquatableArray<DiagnosticInfo>(new[]
                {
                    DiagnosticInfo.At(DiagnosticDescriptors.StateBaselineUnreadable, fileLocation, name, $"format version {baseline.FormatVersion.ToString(CultureInfo.InvariantCulture)} is newer than this Weir.Generator reads ({StateManifest.CurrentFormatVersion.ToString(CultureInfo.InvariantCulture)})"),
                });
            }

            StateSchemaComparison comparison = StateSchemaCompatibility.Compare(baseline, ToSchema(job.Manifest));
            var diagnostics = new List<DiagnosticInfo>();
            foreach (StateSchemaChange change in comparison.Changes.Where(c => c.Severity != SchemaChangeSeverity.Compatible))
            {
                diagnostics.Add(DiagnosticInfo.At(DescriptorOf(change), LocationOf(job, change), change.Message, name, job.ClassName));
            }

            StateSchemaChange[] compatible = comparison.CompatibleChanges.ToArray();
            if (compatible.Length > 0)
            {
                diagnostics.Add(DiagnosticInfo.At(
                    DiagnosticDescriptors.StateBaselineOutdated,
                    job.JobLocation,
                    job.Manifest.Job,
                    name,
                    string.Join(" ", compatible.Select(c => c.Message)),
                    job.ClassName));
            }

            return diagnostics.ToEquatableArray();
        }

        private static DiagnosticDescriptor DescriptorOf(StateSchemaChange change) => change.Kind switch
        {
            SchemaChangeKind.StateKindChanged => DiagnosticDescriptors.StateKindChanged,
            SchemaChangeKind.KeyTypeChanged => DiagnosticDescriptors.StateKeyTypeChanged,
            SchemaChangeKind.ValueTypeChanged => DiagnosticDescriptors.StateValueTypeChanged,
            SchemaChangeKind.FieldTypeChanged => DiagnosticDescriptors.StateFieldTypeChanged,
            SchemaChangeKind.OperatorRemoved => DiagnosticDescriptors.StatefulOperatorRemoved,
            SchemaChangeKind.StateRemoved => DiagnosticDescriptors.StateRemoved,
            _ => DiagnosticDescriptors.StateLayoutIncompatible,
        };

        /// <summary>The state's declaration, else the operator's, else (removed operators) the job class.</summary>
        private static LocationInfo? LocationOf(JobSchemaModel job, StateSchemaChange change)
        {
            SchemaLocationModel? state = change.StateName is null ? null : job.Locations.FirstOrDefault(l => l.OperatorId == change.OperatorId && l.StateName == change.StateName);
            SchemaLocationModel? op = job.Locations.FirstOrDefault(l => l.OperatorId == change.OperatorId && l.StateName is null);
            return state?.Location ?? op?.Location ?? job.JobLocation;
        }

        // ---- Model to schema -------------------------------------------------------------------

        internal static StateManifest ToSchema(StateManifestModel manifest) => new(
            manifest.Job,
            manifest.Operators.Select(o => new OperatorStateSchema(
                o.Id,
                o.Kind,
                o.KeyType is null ? null : ToSchema(o.KeyType),
                o.States.Select(s => new StateSchema(s.Name, s.Kind, s.Types.Select(ToSchema).ToArray())).ToArray())).ToArray());

        private static TypeSchema ToSchema(TypeSchemaModel type) => new(
            type.Name,
            type.Layout,
            type.Fields.Select(f => new FieldSchema(f.Name, f.Order, ToSchema(f.Type))).ToArray(),
            type.Arguments.Select(ToSchema).ToArray());

        // ---- JSON to schema (the form written by the runtime's StateManifest.ToJson) ------------

        internal static StateManifest ReadManifest(string json)
        {
            var root = Object(MiniJson.Parse(json), "the document");
            int version = root.TryGetValue("formatVersion", out object? v) && v is double d ? (int)d : StateManifest.CurrentFormatVersion;
            return new StateManifest(
                String(root, "job"),
                List(root, "operators").Select(o =>
                {
                    var op = Object(o, "an operator");
                    return new OperatorStateSchema(
                        String(op, "id"),
                        String(op, "kind"),
                        op.TryGetValue("keyType", out object? key) && key is not null ? ReadType(key) : null,
                        List(op, "states").Select(s =>
                        {
                            var state = Object(s, "a state");
                            return new StateSchema(String(state, "name"), String(state, "kind"), List(state, "types").Select(ReadType).ToArray());
                        }).ToArray());
                }).ToArray(),
                version);
        }

        private static TypeSchema ReadType(object? value)
        {
            var type = Object(value, "a type");
            return new TypeSchema(
                String(type, "name"),
                String(type, "layout"),
                List(type, "fields").Select(f =>
                {
                    var field = Object(f, "a member");
                    return new FieldSchema(
                        String(field, "name"),
                        field.TryGetValue("order", out object? order) && order is double n ? (int)n : throw new FormatException($"member '{String(field, "name")}' has no order"),
                        ReadType(field.TryGetValue("type", out object? t) ? t : null));
                }).ToArray(),
                List(type, "arguments").Select(ReadType).ToArray());
        }

        private static Dictionary<string, object?> Object(object? value, string what)
            => value as Dictionary<string, object?> ?? throw new FormatException(what + " is not a JSON object");

        private static string String(Dictionary<string, object?> obj, string name)
            => obj.TryGetValue(name, out object? value) && value is string text ? text : throw new FormatException($"'{name}' is missing or not a string");

        private static IEnumerable<object?> List(Dictionary<string, object?> obj, string name)
            => !obj.TryGetValue(name, out object? value) || value is null
                ? Enumerable.Empty<object?>()
                : value as List<object?> ?? throw new FormatException($"'{name}' is not an array");
    }
}
