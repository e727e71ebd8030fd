// Shared with Weir.Generator (linked into it with WEIR_GENERATOR defined): keep it netstandard2.0-compatible.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

#if WEIR_GENERATOR
namespace Weir.Generator.Schema
#else
namespace Weir.State.Schema
#endif
{
    /// <summary>What changed between two state schemas.</summary>
    public enum SchemaChangeKind
    {
        /// <summary>An operator with state is new: it starts empty.</summary>
        OperatorAdded,

        /// <summary>An operator with state is gone: its state would be left behind.</summary>
        OperatorRemoved,

        /// <summary>A state is new: it starts empty.</summary>
        StateAdded,

        /// <summary>A state is gone: its contents would be left behind.</summary>
        StateRemoved,

        /// <summary>A state's kind changed (e.g. Value to List).</summary>
        StateKindChanged,

        /// <summary>A keyed operator's key type, or a state's map or broadcast key type, changed.</summary>
        KeyTypeChanged,

        /// <summary>A state's stored type changed.</summary>
        ValueTypeChanged,

        /// <summary>The type of a member of a stored user-defined type changed.</summary>
        FieldTypeChanged,

        /// <summary>A member was added to a stored user-defined type.</summary>
        FieldAdded,

        /// <summary>A member was removed from a stored user-defined type.</summary>
        FieldRemoved,

        /// <summary>A member of a default-layout type moved to another position.</summary>
        FieldMoved,

        /// <summary>A member kept its order and type but not its name.</summary>
        FieldRenamed,

        /// <summary>A stored type's serialized layout changed (e.g. default to version-tolerant).</summary>
        LayoutChanged,
    }

    /// <summary>How a change affects restoring state written before it.</summary>
    public enum SchemaChangeSeverity
    {
        /// <summary>The state restores as is (new members start at their default, removed members are skipped).</summary>
        Compatible,

        /// <summary>The state restores, but some of it belongs to nothing in the new job and is dropped (like Flink's --allowNonRestoredState).</summary>
        StateDropped,

        /// <summary>The state cannot be restored: reading it would fail or give wrong values.</summary>
        Incompatible,
    }

    /// <summary>One difference between the schema state was written with and the job's schema.</summary>
    public sealed class StateSchemaChange
    {
        /// <summary>Creates a change.</summary>
        public StateSchemaChange(SchemaChangeKind kind, SchemaChangeSeverity severity, string operatorId, string? stateName, string? field, string? oldType, string? newType, string message)
        {
            Kind = kind;
            Severity = severity;
            OperatorId = operatorId;
            StateName = stateName;
            Field = field;
            OldType = oldType;
            NewType = newType;
            Message = message;
        }

        /// <summary>What changed.</summary>
        public SchemaChangeKind Kind { get; }

        /// <summary>Whether state written before the change can be restored.</summary>
        public SchemaChangeSeverity Severity { get; }

        /// <summary>The operator's ID.</summary>
        public string OperatorId { get; }

        /// <summary>The state's name; null for a change of the whole operator.</summary>
        public string? StateName { get; }

        /// <summary>The member's path (e.g. <c>Transaction.Amount</c>); null unless a member changed.</summary>
        public string? Field { get; }

        /// <summary>The type (or kind, or layout) before the change; null when something was added.</summary>
        public string? OldType { get; }

        /// <summary>The type (or kind, or layout) after the change; null when something was removed.</summary>
        public string? NewType { get; }

        /// <summary>A sentence naming the operator, state, member, old and new type, and what the user can do.</summary>
        public string Message { get; }

        /// <inheritdoc/>
        public override string ToString() => Severity + " " + Kind + ": " + Message;
    }

    /// <summary>The result of <see cref="StateSchemaCompatibility.Compare(StateManifest, StateManifest)"/>.</summary>
    public sealed class StateSchemaComparison
    {
        /// <summary>Creates a comparison result.</summary>
        public StateSchemaComparison(IReadOnlyList<StateSchemaChange> changes) => Changes = changes;

        /// <summary>Every change, in pipeline order.</summary>
        public IReadOnlyList<StateSchemaChange> Changes { get; }

        /// <summary>The changes that make the old state unreadable.</summary>
        public IEnumerable<StateSchemaChange> Incompatibilities => Changes.Where(c => c.Severity == SchemaChangeSeverity.Incompatible);

        /// <summary>Removed operators and states: their old state would be dropped.</summary>
        public IEnumerable<StateSchemaChange> DroppedState => Changes.Where(c => c.Severity == SchemaChangeSeverity.StateDropped);

        /// <summary>The changes the old state survives as is.</summary>
        public IEnumerable<StateSchemaChange> CompatibleChanges => Changes.Where(c => c.Severity == SchemaChangeSeverity.Compatible);

        /// <summary>No incompatibility: the state can be restored (possibly dropping <see cref="DroppedState"/>).</summary>
        public bool IsCompatible => !Incompatibilities.Any();

        /// <summary>Whether anything changed at all.</summary>
        public bool HasChanges => Changes.Count > 0;

        /// <summary>One line per change, incompatibilities first, for logs and error messages.</summary>
        public string Describe()
        {
            var text = new StringBuilder();
            foreach (StateSchemaChange change in Changes.OrderByDescending(c => (int)c.Severity))
            {
                text.Append(change.Severity == SchemaChangeSeverity.Incompatible ? "error: " : change.Severity == SchemaChangeSeverity.StateDropped ? "warning: " : "compatible: ");
                text.Append(change.Message).Append('\n');
            }

            return text.ToString();
        }
    }

    /// <summary>
    /// Decides whether state written by one version of a job can be restored by another, by comparing
    /// their <see cref="StateManifest"/>s with the rules of MemoryPack's layouts (see
    /// docs/state-schema-evolution.md). Pure: no I/O, no reflection.
    /// </summary>
    public static class StateSchemaCompatibility
    {
        private const string Rename = "give the state a new name (or the operator a new ID) so that it starts empty and the old state is dropped";

        /// <summary>Compares the manifest recorded with a checkpoint with the manifest of the job about to restore it.</summary>
        /// <param name="checkpointed">The schema the state was written with.</param>
        /// <param name="job">The schema of the job that reads it.</param>
        /// <returns>Every change, each classified as compatible, dropping state, or incompatible.</returns>
        public static StateSchemaComparison Compare(StateManifest checkpointed, StateManifest job)
        {
            if (checkpointed is null)
            {
                throw new ArgumentNullException(nameof(checkpointed));
            }

            if (job is null)
            {
                throw new ArgumentNullException(nameof(job));
            }

            var changes = new List<StateSchemaChange>();
            Dictionary<string, OperatorStateSchema> oldOperators = ById(checkpointed.Operators, o => o.Id);
            var newIds = new HashSet<string>(job.Operators.Select(o => o.Id), StringComparer.Ordinal);
            foreach (OperatorStateSchema op in job.Operators)
            {
                if (!oldOperators.TryGetValue(op.Id, out OperatorStateSchema? old))
                {
                    changes.Add(new StateSchemaChange(
                        SchemaChangeKind.OperatorAdded, SchemaChangeSeverity.Compatible, op.Id, null, null, null, op.Kind,
                        $"Operator '{op.Id}' is new: its state starts empty."));
                    continue;
                }

                CompareOperator(old, op, changes);
            }

            foreach (OperatorStateSchema old in checkpointed.Operators.Where(o => !newIds.Contains(o.Id)))
            {
                changes.Add(new StateSchemaChange(
                    SchemaChangeKind.OperatorRemoved, SchemaChangeSeverity.StateDropped, old.Id, null, null, old.Kind, null,
                    $"Operator '{old.Id}' ({old.Kind}, states {string.Join(", ", old.States.Select(s => "'" + s.Name + "'"))}) is no longer in the job: its state would be dropped on restore. If the operator was renamed, give it back its old ID."));
            }

            return new StateSchemaComparison(changes);
        }

        private static void CompareOperator(OperatorStateSchema old, OperatorStateSchema op, List<StateSchemaChange> changes)
        {
            if (old.KeyType is not null && op.KeyType is not null && old.KeyType.Name != op.KeyType.Name)
            {
                changes.Add(new StateSchemaChange(
                    SchemaChangeKind.KeyTypeChanged, SchemaChangeSeverity.Incompatible, op.Id, null, null, old.KeyType.Name, op.KeyType.Name,
                    $"The key type of operator '{op.Id}' changed from {old.KeyType.Name} to {op.KeyType.Name}: its keyed state is stored and partitioned by the serialized key, so it cannot be restored. Keep the key type, or give the operator a new ID so that it starts empty and the old state is dropped."));
            }
            else if (old.KeyType is not null && op.KeyType is not null)
            {
                CompareType(old.KeyType, op.KeyType, new Place(op.Id, null, "key"), null, changes);
            }

            Dictionary<string, StateSchema> oldStates = ById(old.States, s => s.Name);
            var newNames = new HashSet<string>(op.States.Select(s => s.Name), StringComparer.Ordinal);
            foreach (StateSchema state in op.States)
            {
                if (!oldStates.TryGetValue(state.Name, out StateSchema? oldState))
                {
                    changes.Add(new StateSchemaChange(
                        SchemaChangeKind.StateAdded, SchemaChangeSeverity.Compatible, op.Id, state.Name, null, null, state.Kind,
                        $"State '{state.Name}' of operator '{op.Id}' is new: it starts empty."));
                    continue;
                }

                if (oldState.Kind != state.Kind)
                {
                    changes.Add(new StateSchemaChange(
                        SchemaChangeKind.StateKindChanged, SchemaChangeSeverity.Incompatible, op.Id, state.Name, null, oldState.Kind, state.Kind,
                        $"State '{state.Name}' of operator '{op.Id}' changed kind from {oldState.Kind} to {state.Kind}: its stored entries have a different shape. Keep the kind, or {Rename}."));
                    continue;
                }

                for (int i = 0; i < Math.Min(oldState.Types.Count, state.Types.Count); i++)
                {
                    CompareType(oldState.Types[i], state.Types[i], new Place(op.Id, state.Name, oldState.RoleOf(i)), null, changes);
                }
            }

            foreach (StateSchema oldState in old.States.Where(s => !newNames.Contains(s.Name)))
            {
                changes.Add(new StateSchemaChange(
                    SchemaChangeKind.StateRemoved, SchemaChangeSeverity.StateDropped, op.Id, oldState.Name, null, oldState.Kind, null,
                    $"State '{oldState.Name}' ({oldState.Kind}) of operator '{op.Id}' is no longer declared: its contents would be dropped on restore. If the state was renamed, give it back its old name with [State(\"{oldState.Name}\")]."));
            }
        }

        /// <summary>Where a type sits: operator, state (null for the operator's key) and role.</summary>
        private readonly struct Place
        {
            public Place(string operatorId, string? state, string role)
            {
                OperatorId = operatorId;
                State = state;
                Role = role;
            }

            public string OperatorId { get; }

            public string? State { get; }

            public string Role { get; }

            public string Describe() => State is null
                ? $"the key of operator '{OperatorId}'"
                : $"the {Role} of state '{State}' of operator '{OperatorId}'";
        }

        private static void CompareType(TypeSchema old, TypeSchema current, Place place, string? path, List<StateSchemaChange> changes)
        {
            if (old.Name != current.Name)
            {
                if (path is not null)
                {
                    changes.Add(new StateSchemaChange(
                        SchemaChangeKind.FieldTypeChanged, SchemaChangeSeverity.Incompatible, place.OperatorId, place.State, path, old.Name, current.Name,
                        $"Member '{path}' in {place.Describe()} changed type from {old.Name} to {current.Name}: MemoryPack cannot read the old bytes as the new type. Keep the member's type; to change it, add a member with a new [MemoryPackOrder] (a version-tolerant type may then drop the old one), or {Rename}."));
                }
                else if (place.State is null || place.Role.EndsWith("key", StringComparison.Ordinal))
                {
                    changes.Add(new StateSchemaChange(
                        SchemaChangeKind.KeyTypeChanged, SchemaChangeSeverity.Incompatible, place.OperatorId, place.State, null, old.Name, current.Name,
                        $"The {place.Role} type of state '{place.State}' of operator '{place.OperatorId}' changed from {old.Name} to {current.Name}: entries are stored by their serialized key, so they cannot be restored. Keep the key type, or {Rename}."));
                }
                else
                {
                    changes.Add(new StateSchemaChange(
                        SchemaChangeKind.ValueTypeChanged, SchemaChangeSeverity.Incompatible, place.OperatorId, place.State, null, old.Name, current.Name,
                        $"The {place.Role} type of state '{place.State}' of operator '{place.OperatorId}' changed from {old.Name} to {current.Name}: the stored bytes cannot be read as the new type. Keep the type and evolve its members instead (a [MemoryPackable(GenerateType.VersionTolerant)] type may add and remove members), or {Rename}."));
                }

                return;
            }

            if (old.Layout == TypeLayouts.Reference || current.Layout == TypeLayouts.Reference)
            {
                return;
            }

            string typePath = path ?? ShortName(current.Name);
            if (old.Layout != current.Layout)
            {
                changes.Add(new StateSchemaChange(
                    SchemaChangeKind.LayoutChanged, SchemaChangeSeverity.Incompatible, place.OperatorId, place.State, path, old.Layout, current.Layout,
                    $"Type {current.Name} in {place.Describe()} changed its serialized layout from {old.Layout} to {current.Layout}: the bytes written before cannot be read. Keep the old layout, or {Rename}."));
                return;
            }

            for (int i = 0; i < Math.Min(old.Arguments.Count, current.Arguments.Count); i++)
            {
                CompareType(old.Arguments[i], current.Arguments[i], place, path, changes);
            }

            switch (current.Layout)
            {
                case TypeLayouts.VersionTolerant:
                    CompareTolerant(old, current, place, typePath, changes);
                    break;
                case TypeLayouts.Object:
                case TypeLayouts.Unmanaged:
                    ComparePositional(old, current, place, typePath, changes);
                    break;
            }
        }

        /// <summary>Version-tolerant types: members are matched by their order; adding and removing is compatible.</summary>
        private static void CompareTolerant(TypeSchema old, TypeSchema current, Place place, string typePath, List<StateSchemaChange> changes)
        {
            var oldByOrder = new Dictionary<int, FieldSchema>();
            foreach (FieldSchema field in old.Fields)
            {
                oldByOrder[field.Order] = field;
            }

            var newOrders = new HashSet<int>(current.Fields.Select(f => f.Order));
            foreach (FieldSchema field in current.Fields)
            {
                string path = typePath + "." + field.Name;
                if (!oldByOrder.TryGetValue(field.Order, out FieldSchema? before))
                {
                    changes.Add(new StateSchemaChange(
                        SchemaChangeKind.FieldAdded, SchemaChangeSeverity.Compatible, place.OperatorId, place.State, path, null, field.Type.Name,
                        $"Member '{path}' ({field.Type.Name}, order {field.Order}) was added to {place.Describe()}: restored values get its default."));
                    continue;
                }

                if (before.Name != field.Name && before.Type.Name == field.Type.Name)
                {
                    changes.Add(new StateSchemaChange(
                        SchemaChangeKind.FieldRenamed, SchemaChangeSeverity.Compatible, place.OperatorId, place.State, path, before.Name, field.Name,
                        $"Member '{typePath}.{before.Name}' (order {field.Order}) of {place.Describe()} is now named '{field.Name}': restored values keep its value (members are identified by their order)."));
                }

                CompareType(before.Type, field.Type, place, typePath + "." + (before.Name == field.Name ? field.Name : before.Name), changes);
            }

            foreach (FieldSchema removed in old.Fields.Where(f => !newOrders.Contains(f.Order)))
            {
                string path = typePath + "." + removed.Name;
                changes.Add(new StateSchemaChange(
                    SchemaChangeKind.FieldRemoved, SchemaChangeSeverity.Compatible, place.OperatorId, place.State, path, removed.Type.Name, null,
                    $"Member '{path}' ({removed.Type.Name}, order {removed.Order}) was removed from {place.Describe()}: its restored values are skipped. Never reuse order {removed.Order} for another member."));
            }
        }

        /// <summary>
        /// Default-layout types (members read by position; new members may only be appended) and
        /// unmanaged structs (raw bytes: nothing may change but names).
        /// </summary>
        private static void ComparePositional(TypeSchema old, TypeSchema current, Place place, string typePath, List<StateSchemaChange> changes)
        {
            bool unmanaged = current.Layout == TypeLayouts.Unmanaged;
            string advice = unmanaged
                ? "an unmanaged struct is stored as its raw bytes, so its fields cannot change; keep them, or make it [MemoryPackable(GenerateType.VersionTolerant)] under a new state name"
                : "MemoryPack's default layout reads members by position and only tolerates members appended at the end; keep the member (it may be unused), or move to [MemoryPackable(GenerateType.VersionTolerant)] under a new state name";
            int common = Math.Min(old.Fields.Count, current.Fields.Count);
            for (int i = 0; i < common; i++)
            {
                FieldSchema before = old.Fields[i];
                FieldSchema field = current.Fields[i];
                string path = typePath + "." + field.Name;
                if (before.Name != field.Name && (current.Fields.Any(f => f.Name == before.Name) || old.Fields.Any(f => f.Name == field.Name)))
                {
                    changes.Add(new StateSchemaChange(
                        SchemaChangeKind.FieldMoved, SchemaChangeSeverity.Incompatible, place.OperatorId, place.State, typePath + "." + before.Name, before.Type.Name, field.Type.Name,
                        $"Member '{typePath}.{before.Name}' of {place.Describe()} moved from position {i}, where '{field.Name}' now is: restored values would land in the wrong members; {advice}."));
                    continue;
                }

                if (before.Name != field.Name && before.Type.Name == field.Type.Name)
                {
                    changes.Add(new StateSchemaChange(
                        SchemaChangeKind.FieldRenamed, SchemaChangeSeverity.Compatible, place.OperatorId, place.State, path, before.Name, field.Name,
                        $"Member '{typePath}.{before.Name}' (position {i}) of {place.Describe()} is now named '{field.Name}': restored values keep its value."));
                }

                CompareType(before.Type, field.Type, place, before.Name == field.Name ? path : typePath + "." + before.Name, changes);
            }

            for (int i = common; i < current.Fields.Count; i++)
            {
                FieldSchema field = current.Fields[i];
                string path = typePath + "." + field.Name;
                changes.Add(unmanaged
                    ? new StateSchemaChange(
                        SchemaChangeKind.FieldAdded, SchemaChangeSeverity.Incompatible, place.OperatorId, place.State, path, null, field.Type.Name,
                        $"Member '{path}' ({field.Type.Name}) was added to {place.Describe()}, changing its size: {advice}.")
                    : new StateSchemaChange(
                        SchemaChangeKind.FieldAdded, SchemaChangeSeverity.Compatible, place.OperatorId, place.State, path, null, field.Type.Name,
                        $"Member '{path}' ({field.Type.Name}) was appended to {place.Describe()}: restored values get its default."));
            }

            for (int i = common; i < old.Fields.Count; i++)
            {
                FieldSchema removed = old.Fields[i];
                string path = typePath + "." + removed.Name;
                changes.Add(new StateSchemaChange(
                    SchemaChangeKind.FieldRemoved, SchemaChangeSeverity.Incompatible, place.OperatorId, place.State, path, removed.Type.Name, null,
                    $"Member '{path}' ({removed.Type.Name}) was removed from {place.Describe()}: {advice}."));
            }
        }

        /// <summary>A lookup by ID or name; in a (hand-edited) manifest with duplicates, the first wins.</summary>
        private static Dictionary<string, T> ById<T>(IEnumerable<T> items, Func<T, string> key)
        {
            var result = new Dictionary<string, T>(StringComparer.Ordinal);
            foreach (T item in items)
            {
                if (!result.ContainsKey(key(item)))
                {
                    result[key(item)] = item;
                }
            }

            return result;
        }

        private static string ShortName(string name)
        {
            int generic = name.IndexOf('<');
            string head = generic < 0 ? name : name.Substring(0, generic);
            int dot = head.LastIndexOf('.');
            return dot < 0 ? name : name.Substring(dot + 1);
        }
    }
}
