// Shared with Weir.Generator (linked into it with WEIR_GENERATOR defined), so the build-time check
// against a committed baseline and the restore-time check against a checkpoint apply the same rules.
// Keep this file netstandard2.0-compatible: no newer BCL APIs, no System.Text.Json attributes.
using System;
using System.Collections.Generic;

#if WEIR_GENERATOR
namespace Weir.Generator.Schema
#else
namespace Weir.State.Schema
#endif
{
    /// <summary>
    /// The state schema of a job: for each operator that keeps keyed or broadcast state, its key type
    /// and each state's name, kind and stored types, down to the serialized members of user-defined
    /// types. Weir.Generator builds it at compile time (the job class's <c>StateManifest</c>); a
    /// checkpoint records the manifest of the job that wrote it, and
    /// <see cref="StateSchemaCompatibility.Compare(StateManifest, StateManifest)"/> decides whether a
    /// new version of the job can restore it.
    /// </summary>
    public sealed partial class StateManifest
    {
        /// <summary>The version of the manifest's JSON form this library writes.</summary>
        public const int CurrentFormatVersion = 1;

        /// <summary>Creates a manifest.</summary>
        /// <param name="job">The job's name.</param>
        /// <param name="operators">The stateful operators, in pipeline order.</param>
        /// <param name="formatVersion">The JSON form's version (<see cref="CurrentFormatVersion"/>).</param>
        public StateManifest(string job, IReadOnlyList<OperatorStateSchema>? operators, int formatVersion = CurrentFormatVersion)
        {
            Job = job ?? throw new ArgumentNullException(nameof(job));
            Operators = operators ?? Array.Empty<OperatorStateSchema>();
            FormatVersion = formatVersion;
        }

        /// <summary>The version of the JSON form.</summary>
        public int FormatVersion { get; }

        /// <summary>The job's name.</summary>
        public string Job { get; }

        /// <summary>The operators that keep state, in pipeline order.</summary>
        public IReadOnlyList<OperatorStateSchema> Operators { get; }
    }

    /// <summary>The state of one operator, identified by its stable operator ID.</summary>
    public sealed class OperatorStateSchema
    {
        /// <summary>Creates an operator's schema.</summary>
        /// <param name="id">The operator's ID (as given in the pipeline).</param>
        /// <param name="kind">The operator's kind (Process, Reduce, Aggregate).</param>
        /// <param name="keyType">The key type of a keyed operator; null otherwise.</param>
        /// <param name="states">The operator's states.</param>
        public OperatorStateSchema(string id, string kind, TypeSchema? keyType, IReadOnlyList<StateSchema>? states)
        {
            Id = id ?? throw new ArgumentNullException(nameof(id));
            Kind = kind ?? throw new ArgumentNullException(nameof(kind));
            KeyType = keyType;
            States = states ?? Array.Empty<StateSchema>();
        }

        /// <summary>The operator's stable ID.</summary>
        public string Id { get; }

        /// <summary>The operator's kind: Process, Reduce or Aggregate.</summary>
        public string Kind { get; }

        /// <summary>The key type of a keyed operator (every keyed state of the operator is scoped to it); null otherwise.</summary>
        public TypeSchema? KeyType { get; }

        /// <summary>The operator's states, in declaration order.</summary>
        public IReadOnlyList<StateSchema> States { get; }
    }

    /// <summary>One named state of an operator.</summary>
    public sealed class StateSchema
    {
        /// <summary>Creates a state's schema.</summary>
        /// <param name="name">The state's name (its identity inside the operator).</param>
        /// <param name="kind">Value, List, Map, Reducing, Aggregating or Broadcast.</param>
        /// <param name="types">The stored types; see <see cref="Types"/>.</param>
        public StateSchema(string name, string kind, IReadOnlyList<TypeSchema>? types)
        {
            Name = name ?? throw new ArgumentNullException(nameof(name));
            Kind = kind ?? throw new ArgumentNullException(nameof(kind));
            Types = types ?? Array.Empty<TypeSchema>();
        }

        /// <summary>The state's name.</summary>
        public string Name { get; }

        /// <summary>Value, List, Map, Reducing, Aggregating (keyed state) or Broadcast.</summary>
        public string Kind { get; }

        /// <summary>
        /// What the state stores, by kind: Value, List and Reducing: the value (element) type; Map: the
        /// user key type, then the value type; Aggregating: the accumulator type; Broadcast: the map's
        /// key type, then its value type.
        /// </summary>
        public IReadOnlyList<TypeSchema> Types { get; }

        /// <summary>The role of the stored type at <paramref name="index"/>, for messages ("value", "map key"...).</summary>
        public string RoleOf(int index) => (Kind, index) switch
        {
            ("Map", 0) => "map key",
            ("Broadcast", 0) => "broadcast key",
            ("Aggregating", _) => "accumulator",
            ("Map", _) or ("Broadcast", _) => "value",
            _ => "value",
        };
    }

    /// <summary>
    /// A type as it is serialized: its name, how MemoryPack lays it out, its serialized members
    /// (user-defined types) and its type arguments (collections, tuples, nullables, arrays).
    /// </summary>
    public sealed class TypeSchema
    {
        /// <summary>Creates a type's schema.</summary>
        /// <param name="name">The type's full name (no <c>global::</c>, tuples as <c>System.ValueTuple&lt;...&gt;</c>, arrays as <c>T[]</c>).</param>
        /// <param name="layout">One of <see cref="TypeLayouts"/>.</param>
        /// <param name="fields">The serialized members, for <see cref="TypeLayouts.Object"/>, <see cref="TypeLayouts.VersionTolerant"/> and <see cref="TypeLayouts.Unmanaged"/>.</param>
        /// <param name="arguments">Type arguments (or an array's element type).</param>
        public TypeSchema(string name, string layout, IReadOnlyList<FieldSchema>? fields = null, IReadOnlyList<TypeSchema>? arguments = null)
        {
            Name = name ?? throw new ArgumentNullException(nameof(name));
            Layout = layout ?? throw new ArgumentNullException(nameof(layout));
            Fields = fields ?? Array.Empty<FieldSchema>();
            Arguments = arguments ?? Array.Empty<TypeSchema>();
        }

        /// <summary>The type's full name.</summary>
        public string Name { get; }

        /// <summary>How the type is serialized: one of <see cref="TypeLayouts"/>.</summary>
        public string Layout { get; }

        /// <summary>The serialized members, ordered by their MemoryPack order.</summary>
        public IReadOnlyList<FieldSchema> Fields { get; }

        /// <summary>The type arguments (an array's element type, a tuple's element types...).</summary>
        public IReadOnlyList<TypeSchema> Arguments { get; }

        /// <inheritdoc/>
        public override string ToString() => Name;
    }

    /// <summary>A serialized member of a user-defined type.</summary>
    public sealed class FieldSchema
    {
        /// <summary>Creates a member's schema.</summary>
        /// <param name="name">The member's name.</param>
        /// <param name="order">Its MemoryPack order: the <c>[MemoryPackOrder]</c> value, else its position among the serialized members.</param>
        /// <param name="type">Its type.</param>
        public FieldSchema(string name, int order, TypeSchema type)
        {
            Name = name ?? throw new ArgumentNullException(nameof(name));
            Order = order;
            Type = type ?? throw new ArgumentNullException(nameof(type));
        }

        /// <summary>The member's name.</summary>
        public string Name { get; }

        /// <summary>The member's MemoryPack order (its identity in a version-tolerant type).</summary>
        public int Order { get; }

        /// <summary>The member's type.</summary>
        public TypeSchema Type { get; }
    }

    /// <summary>The serialized layouts of <see cref="TypeSchema.Layout"/>.</summary>
    public static class TypeLayouts
    {
        /// <summary>A type MemoryPack knows (primitives, string, Guid, DateTime..., collections, tuples, nullables, arrays): compared by name and type arguments.</summary>
        public const string Builtin = "Builtin";

        /// <summary>An enum, written as its underlying integer: members may be added; compared by name.</summary>
        public const string Enum = "Enum";

        /// <summary>A <c>[MemoryPackable]</c> type with the default layout: members may only be added at the end, never removed or reordered.</summary>
        public const string Object = "Object";

        /// <summary>A <c>[MemoryPackable(GenerateType.VersionTolerant)]</c> (or CircularReference) type: members are identified by their order and may be added or removed.</summary>
        public const string VersionTolerant = "VersionTolerant";

        /// <summary>An unmanaged struct copied as raw bytes: its fields may not change at all.</summary>
        public const string Unmanaged = "Unmanaged";

        /// <summary>A <c>[MemoryPackUnion]</c> or other type whose members are not described: compared by name.</summary>
        public const string Opaque = "Opaque";

        /// <summary>A type already being described further up (a cycle), or beyond the depth limit: compared by name.</summary>
        public const string Reference = "Reference";
    }
}
