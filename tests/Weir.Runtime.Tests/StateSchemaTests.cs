using System;
using System.Buffers;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using FraudDetection;
using MemoryPack;
using Weir.State;
using Weir.State.Schema;
using Xunit;

namespace Weir.Runtime.Tests;

// Two versions of one version-tolerant state type: version B dropped member B (order 1) and added C (order 2).
[MemoryPackable(GenerateType.VersionTolerant)]
public sealed partial record TolerantV1([property: MemoryPackOrder(0)] int A, [property: MemoryPackOrder(1)] string B);

[MemoryPackable(GenerateType.VersionTolerant)]
public sealed partial record TolerantV2([property: MemoryPackOrder(0)] int A, [property: MemoryPackOrder(2)] string? C);

// The same change with MemoryPack's default layout, which reads members by position.
[MemoryPackable]
public sealed partial record PositionalV1(int A, string B, long D);

[MemoryPackable]
public sealed partial record PositionalV2(int A, long D);

/// <summary>
/// State schema evolution: what MemoryPack's layouts tolerate at run time, the manifest's JSON form,
/// and <see cref="StateSchemaCompatibility.Compare"/>, the check a restore runs before reading state.
/// </summary>
public sealed class StateSchemaTests
{
    [Fact]
    public void A_version_tolerant_value_written_with_members_a_b_is_read_by_the_version_with_members_a_c()
    {
        TolerantV2 read = Convert<TolerantV1, TolerantV2>(new TolerantV1(42, "dropped"));
        Assert.Equal(42, read.A);
        Assert.Null(read.C);

        // And back: a value written by the new version restores in the old one (B at its default).
        TolerantV1 back = Convert<TolerantV2, TolerantV1>(new TolerantV2(7, "new"));
        Assert.Equal(7, back.A);
        Assert.Null(back.B);
    }

    [Fact]
    public void A_default_layout_value_does_not_survive_a_removed_member()
    {
        // Why WEIR0309 warns: the default layout reads by position, so D would be read from B's bytes.
        PositionalV2? read = null;
        Exception? error = Record.Exception(() => read = Convert<PositionalV1, PositionalV2>(new PositionalV1(1, "text", 99L)));
        Assert.True(error is not null || read!.D != 99L, "A default-layout type unexpectedly tolerated a removed member.");
    }

    [Fact]
    public void The_sample_state_types_evolve_by_their_order()
    {
        // FraudDetection keeps transactions and rules in state; both are version-tolerant.
        var transaction = new Transaction(1, "acc", 12.5m, "shop");
        Assert.Equal(transaction, Convert<Transaction, Transaction>(transaction));
        TypeSchema recent = FraudDetectionJob.StateManifest.Operators.Single().States.Single(s => s.Name == "recent").Types.Single();
        Assert.Equal(TypeLayouts.VersionTolerant, recent.Layout);
        Assert.Equal(new[] { "Timestamp", "Account", "Amount", "Merchant" }, recent.Fields.Select(f => f.Name));
        Assert.Equal(new[] { 0, 1, 2, 3 }, recent.Fields.Select(f => f.Order));
    }

    [Fact]
    public void The_generated_manifest_describes_the_sample_job()
    {
        StateManifest manifest = FraudDetectionJob.StateManifest;
        Assert.Equal("fraud-detection", manifest.Job);
        OperatorStateSchema detector = Assert.Single(manifest.Operators);
        Assert.Equal("fraud-detector", detector.Id);
        Assert.Equal("string", detector.KeyType!.Name);
        Assert.Equal(new[] { "rules:Broadcast", "recent:List", "merchants:Map", "alerts:Value" }, detector.States.Select(s => s.Name + ":" + s.Kind));
        TypeSchema rules = detector.States[0].Types[1];
        Assert.Equal("FraudDetection.Rule[]", rules.Name);
        Assert.Equal("FraudDetection.Rule", Assert.Single(rules.Arguments).Name);
        Assert.Equal(TypeLayouts.Enum, rules.Arguments[0].Fields.Single(f => f.Name == "Kind").Type.Layout);
    }

    [Fact]
    public void The_json_form_round_trips_and_is_the_committed_baseline_of_the_sample()
    {
        string json = FraudDetectionJob.StateManifestJson;
        StateManifest read = StateManifest.FromJson(json);
        Assert.Equal(json, read.ToJson());
        Assert.Empty(StateSchemaCompatibility.Compare(read, FraudDetectionJob.StateManifest).Changes);
        Assert.Contains("\"name\": \"FraudDetection.Rule[]\"", json, StringComparison.Ordinal);
        Assert.DoesNotContain("\"fields\": []", json, StringComparison.Ordinal);

        // The sample commits its baseline; the build compares with it, and so does this test.
        string baseline = File.ReadAllText(Path.Combine(RepositoryRoot(), "samples", "FraudDetection", "fraud-detection.weirstate.json"));
        Assert.Equal(json, baseline.Replace("\r\n", "\n", StringComparison.Ordinal));
    }

    [Fact]
    public void FromJson_rejects_text_that_is_not_a_manifest_or_too_new()
    {
        Assert.Throws<FormatException>(() => StateManifest.FromJson("{ not json"));
        Assert.Throws<FormatException>(() => StateManifest.FromJson("null"));
        FormatException newer = Assert.Throws<FormatException>(() => StateManifest.FromJson("""{ "formatVersion": 99, "job": "j", "operators": [] }"""));
        Assert.Contains("99", newer.Message, StringComparison.Ordinal);
    }

    // ---- Compare: compatible changes -----------------------------------------------------------

    [Fact]
    public void Compare_equal_manifests_has_no_changes()
    {
        StateSchemaComparison result = StateSchemaCompatibility.Compare(Job(Tolerant("A:int:0", "B:string:1")), Job(Tolerant("A:int:0", "B:string:1")));
        Assert.False(result.HasChanges);
        Assert.True(result.IsCompatible);
    }

    [Fact]
    public void Compare_members_added_and_removed_in_a_version_tolerant_type_are_compatible()
    {
        StateSchemaComparison result = StateSchemaCompatibility.Compare(Job(Tolerant("A:int:0", "B:string:1")), Job(Tolerant("A:int:0", "C:string:2")));
        Assert.True(result.IsCompatible);
        Assert.Empty(result.DroppedState);
        StateSchemaChange added = Assert.Single(result.Changes, c => c.Kind == SchemaChangeKind.FieldAdded);
        StateSchemaChange removed = Assert.Single(result.Changes, c => c.Kind == SchemaChangeKind.FieldRemoved);
        Assert.Equal(("Event.C", null, "string"), (added.Field, added.OldType, added.NewType));
        Assert.Equal(("Event.B", "string", null), (removed.Field, removed.OldType, removed.NewType));
        Assert.Contains("never reuse order 1", removed.Message, StringComparison.OrdinalIgnoreCase);
        Assert.All(result.Changes, c => Assert.Equal(("proc", "events"), (c.OperatorId, c.StateName)));
    }

    [Fact]
    public void Compare_a_member_renamed_at_the_same_order_is_compatible()
    {
        StateSchemaChange change = Assert.Single(StateSchemaCompatibility.Compare(Job(Tolerant("A:int:0")), Job(Tolerant("Total:int:0"))).Changes);
        Assert.Equal((SchemaChangeKind.FieldRenamed, SchemaChangeSeverity.Compatible, "A", "Total"), (change.Kind, change.Severity, change.OldType, change.NewType));
    }

    [Fact]
    public void Compare_a_member_appended_to_a_default_layout_type_is_compatible()
    {
        StateSchemaChange change = Assert.Single(StateSchemaCompatibility.Compare(Job(Positional("A:int", "B:string")), Job(Positional("A:int", "B:string", "C:long"))).Changes);
        Assert.Equal((SchemaChangeKind.FieldAdded, SchemaChangeSeverity.Compatible, "Event.C"), (change.Kind, change.Severity, change.Field));
    }

    [Fact]
    public void Compare_new_operators_and_states_are_compatible()
    {
        StateManifest old = Job(Tolerant("A:int:0"));
        var current = new StateManifest("job", new[]
        {
            new OperatorStateSchema("proc", "Process", Builtin("string"), new[] { old.Operators[0].States[0], new StateSchema("count", "Value", new[] { Builtin("long") }) }),
            new OperatorStateSchema("totals", "Reduce", Builtin("string"), new[] { new StateSchema("value", "Value", new[] { Builtin("long") }) }),
        });
        StateSchemaComparison result = StateSchemaCompatibility.Compare(old, current);
        Assert.True(result.IsCompatible);
        Assert.Equal(new[] { SchemaChangeKind.StateAdded, SchemaChangeKind.OperatorAdded }, result.Changes.Select(c => c.Kind));
        Assert.All(result.Changes, c => Assert.Equal(SchemaChangeSeverity.Compatible, c.Severity));
    }

    // ---- Compare: dropped state ----------------------------------------------------------------

    [Fact]
    public void Compare_removed_operators_and_states_drop_state()
    {
        var old = new StateManifest("job", new[]
        {
            new OperatorStateSchema("proc", "Process", Builtin("string"), new[] { new StateSchema("events", "List", new[] { Builtin("long") }), new StateSchema("count", "Value", new[] { Builtin("long") }) }),
            new OperatorStateSchema("gone", "Reduce", Builtin("string"), new[] { new StateSchema("value", "Value", new[] { Builtin("long") }) }),
        });
        var current = new StateManifest("job", new[] { new OperatorStateSchema("proc", "Process", Builtin("string"), new[] { new StateSchema("events", "List", new[] { Builtin("long") }) }) });
        StateSchemaComparison result = StateSchemaCompatibility.Compare(old, current);
        Assert.True(result.IsCompatible);
        Assert.Equal(2, result.DroppedState.Count());
        StateSchemaChange state = Assert.Single(result.Changes, c => c.Kind == SchemaChangeKind.StateRemoved);
        Assert.Equal(("proc", "count"), (state.OperatorId, state.StateName));
        Assert.Contains("[State(\"count\")]", state.Message, StringComparison.Ordinal);
        StateSchemaChange op = Assert.Single(result.Changes, c => c.Kind == SchemaChangeKind.OperatorRemoved);
        Assert.Equal("gone", op.OperatorId);
        Assert.Contains("give it back its old ID", op.Message, StringComparison.Ordinal);
    }

    // ---- Compare: incompatible changes ---------------------------------------------------------

    [Fact]
    public void Compare_a_changed_state_kind_is_incompatible()
    {
        StateManifest old = Job(Builtin("long"), kind: "Value");
        StateManifest current = Job(Builtin("long"), kind: "List");
        StateSchemaChange change = AssertIncompatible(old, current, SchemaChangeKind.StateKindChanged, "Value", "List");
        AssertMessage(change, "'events'", "'proc'", "Value", "List", "Keep the kind, or give the state a new name");
    }

    [Fact]
    public void Compare_a_changed_operator_key_type_is_incompatible()
    {
        StateManifest old = Job(Builtin("long"));
        StateManifest current = Job(Builtin("long"), key: Builtin("long"));
        StateSchemaChange change = AssertIncompatible(old, current, SchemaChangeKind.KeyTypeChanged, "string", "long");
        Assert.Null(change.StateName);
        AssertMessage(change, "'proc'", "from string to long", "Keep the key type, or give the operator a new ID");
    }

    [Fact]
    public void Compare_a_changed_map_key_type_is_incompatible()
    {
        StateManifest old = Job(new[] { Builtin("string"), Builtin("long") }, kind: "Map");
        StateManifest current = Job(new[] { Builtin("int"), Builtin("long") }, kind: "Map");
        StateSchemaChange change = AssertIncompatible(old, current, SchemaChangeKind.KeyTypeChanged, "string", "int");
        AssertMessage(change, "map key", "'events'", "'proc'", "from string to int");
    }

    [Fact]
    public void Compare_a_changed_value_type_is_incompatible()
    {
        StateSchemaChange change = AssertIncompatible(Job(Builtin("long")), Job(Builtin("int")), SchemaChangeKind.ValueTypeChanged, "long", "int");
        AssertMessage(change, "value type of state 'events' of operator 'proc'", "from long to int", "VersionTolerant");
    }

    [Fact]
    public void Compare_a_changed_member_type_is_incompatible()
    {
        StateSchemaChange change = AssertIncompatible(Job(Tolerant("A:int:0", "B:string:1")), Job(Tolerant("A:long:0", "B:string:1")), SchemaChangeKind.FieldTypeChanged, "int", "long");
        Assert.Equal("Event.A", change.Field);
        AssertMessage(change, "Member 'Event.A'", "'events'", "'proc'", "from int to long", "new [MemoryPackOrder]");
    }

    [Fact]
    public void Compare_a_changed_member_type_deep_inside_a_collection_is_incompatible()
    {
        TypeSchema Line(string amount) => new("Shop.Line", TypeLayouts.VersionTolerant, new[] { new FieldSchema("Amount", 0, Builtin(amount)) });
        TypeSchema Order(string amount) => new("Shop.Order", TypeLayouts.VersionTolerant, new[] { new FieldSchema("Lines", 0, new TypeSchema("System.Collections.Generic.List<Shop.Line>", TypeLayouts.Builtin, null, new[] { Line(amount) })) });
        StateSchemaChange change = AssertIncompatible(Job(Order("decimal")), Job(Order("double")), SchemaChangeKind.FieldTypeChanged, "decimal", "double");
        Assert.Equal("Order.Lines.Amount", change.Field);
    }

    [Fact]
    public void Compare_a_member_removed_from_a_default_layout_type_is_incompatible()
    {
        StateSchemaChange change = AssertIncompatible(Job(Positional("A:int", "B:string", "D:long")), Job(Positional("A:int", "B:string")), SchemaChangeKind.FieldRemoved, "long", null);
        Assert.Equal("Event.D", change.Field);
        AssertMessage(change, "Member 'Event.D'", "'events'", "'proc'", "default layout reads members by position");
    }

    [Fact]
    public void Compare_a_member_moved_in_a_default_layout_type_is_incompatible()
    {
        StateSchemaComparison result = StateSchemaCompatibility.Compare(Job(Positional("A:int", "B:int")), Job(Positional("B:int", "A:int")));
        Assert.False(result.IsCompatible);
        Assert.Contains(result.Incompatibilities, c => c.Kind == SchemaChangeKind.FieldMoved && c.Field == "Event.A");
    }

    [Fact]
    public void Compare_a_member_added_to_an_unmanaged_struct_is_incompatible()
    {
        TypeSchema Point(params string[] fields) => new("Geo.Point", TypeLayouts.Unmanaged, fields.Select((f, i) => new FieldSchema(f, i, Builtin("double"))).ToArray());
        StateSchemaChange change = AssertIncompatible(Job(Point("X", "Y")), Job(Point("X", "Y", "Z")), SchemaChangeKind.FieldAdded, null, "double");
        AssertMessage(change, "Member 'Point.Z'", "raw bytes");
    }

    [Fact]
    public void Compare_a_changed_layout_is_incompatible()
    {
        StateSchemaChange change = AssertIncompatible(Job(Positional("A:int")), Job(Tolerant("A:int:0")), SchemaChangeKind.LayoutChanged, TypeLayouts.Object, TypeLayouts.VersionTolerant);
        AssertMessage(change, "Shop.Event", "'events'", "'proc'", "from Object to VersionTolerant");
    }

    [Fact]
    public void Compare_reads_a_hand_edited_manifest_with_duplicate_ids_first_wins()
    {
        StateManifest job = Job(Builtin("long"));
        var edited = new StateManifest("job", new[] { job.Operators[0], new OperatorStateSchema("proc", "Process", Builtin("int"), Array.Empty<StateSchema>()) });
        Assert.False(StateSchemaCompatibility.Compare(edited, job).HasChanges);
    }

    [Fact]
    public void Describe_lists_incompatibilities_first()
    {
        var old = new StateManifest("job", new[]
        {
            new OperatorStateSchema("proc", "Process", Builtin("string"), new[] { new StateSchema("events", "Value", new[] { Builtin("long") }) }),
            new OperatorStateSchema("gone", "Reduce", Builtin("string"), Array.Empty<StateSchema>()),
        });
        string text = StateSchemaCompatibility.Compare(old, Job(Builtin("int"), kind: "Value")).Describe();
        string[] lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("error: ", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("warning: ", lines[1], StringComparison.Ordinal);
    }

    // ---- Helpers -------------------------------------------------------------------------------

    private static StateSchemaChange AssertIncompatible(StateManifest old, StateManifest current, SchemaChangeKind kind, string? oldType, string? newType)
    {
        StateSchemaComparison result = StateSchemaCompatibility.Compare(old, current);
        Assert.False(result.IsCompatible);
        StateSchemaChange change = Assert.Single(result.Incompatibilities);
        Assert.Equal((kind, SchemaChangeSeverity.Incompatible, oldType, newType), (change.Kind, change.Severity, change.OldType, change.NewType));
        Assert.Equal("proc", change.OperatorId);
        return change;
    }

    private static void AssertMessage(StateSchemaChange change, params string[] parts)
    {
        foreach (string part in parts)
        {
            Assert.Contains(part, change.Message, StringComparison.Ordinal);
        }
    }

    private static TypeSchema Builtin(string name) => new(name, TypeLayouts.Builtin);

    /// <summary>A version-tolerant Shop.Event with members "Name:type:order".</summary>
    private static TypeSchema Tolerant(params string[] members) => new(
        "Shop.Event",
        TypeLayouts.VersionTolerant,
        members.Select(m => m.Split(':')).Select(p => new FieldSchema(p[0], int.Parse(p[2], System.Globalization.CultureInfo.InvariantCulture), Builtin(p[1]))).ToArray());

    /// <summary>A default-layout Shop.Event with members "Name:type", in order.</summary>
    private static TypeSchema Positional(params string[] members) => new(
        "Shop.Event",
        TypeLayouts.Object,
        members.Select(m => m.Split(':')).Select((p, i) => new FieldSchema(p[0], i, Builtin(p[1]))).ToArray());

    private static StateManifest Job(TypeSchema value, string kind = "List", TypeSchema? key = null) => Job(new[] { value }, kind, key);

    private static StateManifest Job(TypeSchema[] types, string kind = "List", TypeSchema? key = null) => new(
        "job",
        new[] { new OperatorStateSchema("proc", "Process", key ?? Builtin("string"), new[] { new StateSchema("events", kind, types) }) });

    private static TTo Convert<TFrom, TTo>(TFrom value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        MemoryPackStateSerializer<TFrom>.Instance.Serialize(in value, buffer);
        return MemoryPackStateSerializer<TTo>.Instance.Deserialize(buffer.WrittenSpan);
    }

    private static string RepositoryRoot([CallerFilePath] string path = "")
        => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, "..", ".."));
}
