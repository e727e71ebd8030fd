using Weir.Generator.Helpers;

namespace Weir.Generator.Model
{
    /// <summary>A type as it is serialized (see the runtime's <c>Weir.State.Schema.TypeSchema</c>).</summary>
    /// <param name="Name">The type's full name without <c>global::</c>; tuples as <c>System.ValueTuple&lt;...&gt;</c>.</param>
    /// <param name="Layout">A <c>TypeLayouts</c> name: Builtin, Enum, Object, VersionTolerant, Unmanaged, Opaque or Reference.</param>
    /// <param name="Fields">Serialized members, by MemoryPack order.</param>
    /// <param name="Arguments">Type arguments, or an array's element type.</param>
    internal sealed record TypeSchemaModel(string Name, string Layout, EquatableArray<FieldSchemaModel> Fields, EquatableArray<TypeSchemaModel> Arguments);

    /// <summary>A serialized member of a user-defined type.</summary>
    internal sealed record FieldSchemaModel(string Name, int Order, TypeSchemaModel Type);

    /// <summary>A state of an operator: name, kind and stored types (see the runtime's <c>StateSchema.Types</c>).</summary>
    internal sealed record StateSchemaModel(string Name, string Kind, EquatableArray<TypeSchemaModel> Types);

    /// <summary>A stateful operator: its ID, kind, key type (keyed operators) and states.</summary>
    internal sealed record OperatorSchemaModel(string Id, string Kind, TypeSchemaModel? KeyType, EquatableArray<StateSchemaModel> States);

    /// <summary>A job's state manifest, emitted as the job's <c>StateManifest</c>.</summary>
    internal sealed record StateManifestModel(string Job, EquatableArray<OperatorSchemaModel> Operators);

    /// <summary>Where an operator (StateName null) or one of its states is declared, for schema diagnostics.</summary>
    internal sealed record SchemaLocationModel(string OperatorId, string? StateName, LocationInfo? Location);

    /// <summary>
    /// The input of the baseline check of one job: its manifest, and the locations its diagnostics
    /// point at. Kept apart from <see cref="JobModel"/> so that locations never invalidate generated code.
    /// </summary>
    internal sealed record JobSchemaModel(string ClassName, StateManifestModel Manifest, LocationInfo? JobLocation, EquatableArray<SchemaLocationModel> Locations);

    /// <summary>A state baseline file given as an AdditionalFiles item (<c>{job}.weirstate.json</c>).</summary>
    internal sealed record BaselineFile(string Path, string Text);
}
