using System;
using System.Collections;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Weir.State.Schema
{
    /// <content>The manifest's canonical JSON form (System.Text.Json source generation: no reflection, AOT-safe).</content>
    public sealed partial class StateManifest
    {
        private static readonly JsonSerializerOptions s_options = new()
        {
            TypeInfoResolver = StateManifestJsonContext.Default.WithAddedModifier(OmitEmptyLists),
            WriteIndented = true,
            IndentSize = 2,
            NewLine = "\n",
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,

            // Type names hold '<' and '>': keep them readable in a file users commit and review.
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };

        /// <summary>
        /// The canonical JSON text: indented by two spaces, '\n' line ends, properties in a fixed order,
        /// empty lists and null key types left out. Equal manifests give equal text, so the text can be
        /// committed as a baseline (see docs/state-schema-evolution.md) and stored with checkpoints.
        /// </summary>
        public string ToJson() => JsonSerializer.Serialize(this, (JsonTypeInfo<StateManifest>)s_options.GetTypeInfo(typeof(StateManifest))) + "\n";

        /// <summary>Reads a manifest from its JSON form (as written by <see cref="ToJson"/>).</summary>
        /// <exception cref="FormatException">The text is not a manifest, or of a newer format version.</exception>
        public static StateManifest FromJson(string json)
        {
            ArgumentNullException.ThrowIfNull(json);
            StateManifest? manifest;
            try
            {
                manifest = JsonSerializer.Deserialize(json, (JsonTypeInfo<StateManifest>)s_options.GetTypeInfo(typeof(StateManifest)));
            }
            catch (JsonException ex)
            {
                throw new FormatException("Not a Weir state manifest: " + ex.Message, ex);
            }

            if (manifest is null)
            {
                throw new FormatException("Not a Weir state manifest: the JSON is null.");
            }

            if (manifest.FormatVersion > CurrentFormatVersion)
            {
                throw new FormatException($"The state manifest has format version {manifest.FormatVersion}; this version of Weir reads up to {CurrentFormatVersion}.");
            }

            return manifest;
        }

        private static void OmitEmptyLists(JsonTypeInfo type)
        {
            foreach (JsonPropertyInfo property in type.Properties)
            {
                if (typeof(ICollection).IsAssignableFrom(property.PropertyType) || property.PropertyType.IsGenericType && property.PropertyType.GetGenericTypeDefinition() == typeof(System.Collections.Generic.IReadOnlyList<>))
                {
                    property.ShouldSerialize = static (_, value) => value is not ICollection { Count: 0 };
                }
            }
        }
    }

    /// <summary>The source-generated JSON metadata of the manifest types.</summary>
    [JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
    [JsonSerializable(typeof(StateManifest))]
    internal sealed partial class StateManifestJsonContext : JsonSerializerContext
    {
    }
}
