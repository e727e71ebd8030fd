using Microsoft.CodeAnalysis;

namespace Weir.Generator.Diagnostics
{
    /// <summary>
    /// Every diagnostic Weir reports at build time. IDs are a public contract (never reused), kept in
    /// sync with docs/diagnostics.md. Ranges: 0000–0099 job and pipeline shape, 0100–0199 graph,
    /// 0200–0299 operators, state and keys, 0300–0399 state schema evolution (the job's state schema
    /// against its committed baseline; see docs/state-schema-evolution.md).
    /// </summary>
    internal static class DiagnosticDescriptors
    {
        private const string Category = "Weir";
        private const string HelpBase = "https://github.com/weir-streaming/weir/blob/main/docs/diagnostics.md#";

        /// <summary>Format: <c>"Weir.Generator failed on job '{0}': {1}"</c>.</summary>
        public static readonly DiagnosticDescriptor GeneratorError = Create(
            "WEIR0000", "Weir.Generator failed", "Weir.Generator failed on job '{0}': {1}",
            "The generator hit an unexpected error; this is a bug in Weir. The job's code was not generated.");

        /// <summary>Format: <c>"Job class '{0}' must be a top-level, non-generic 'static partial' class"</c>.</summary>
        public static readonly DiagnosticDescriptor JobClassShape = Create(
            "WEIR0001", "Job class must be a top-level static partial class", "Job class '{0}' must be a top-level, non-generic 'static partial' class",
            "The generator adds the job's entry point and fused chains to the job class, so it must be partial, static, not generic and not nested.");

        /// <summary>Format: <c>"Job '{0}' must have exactly one method marked [Pipeline]; found {1}"</c>.</summary>
        public static readonly DiagnosticDescriptor PipelineMethodCount = Create(
            "WEIR0002", "Job needs exactly one [Pipeline] method", "Job '{0}' must have exactly one method marked [Pipeline]; found {1}",
            "A job's dataflow is declared by one static method marked [Pipeline].");

        /// <summary>Format: <c>"[Pipeline] method '{0}' must be static, return void and take a Weir.PipelineBuilder as its first parameter"</c>.</summary>
        public static readonly DiagnosticDescriptor PipelineMethodSignature = Create(
            "WEIR0003", "Invalid [Pipeline] method signature", "[Pipeline] method '{0}' must be static, return void and take a Weir.PipelineBuilder as its first parameter",
            "The pipeline method is a declaration: static, void, builder first, job parameters after it.");

        /// <summary>Format: <c>"'{0}' is not allowed in a pipeline definition: {1}"</c>.</summary>
        public static readonly DiagnosticDescriptor UnsupportedPipelineCode = Create(
            "WEIR0004", "Unsupported code in a pipeline definition", "'{0}' is not allowed in a pipeline definition: {1}",
            "A pipeline definition is compiled, not executed: it may contain only Weir pipeline calls, 'var' locals holding streams, and expression statements.");

        /// <summary>Format: <c>"The function given to {0} must be a lambda or a method group so that it can be fused into its chain"</c>.</summary>
        public static readonly DiagnosticDescriptor UnsupportedFunction = Create(
            "WEIR0005", "Function cannot be fused", "The function given to {0} must be a lambda or a method group so that it can be fused into its chain",
            "Fused chains call user functions directly; a delegate held in a variable would need a virtual call per record.");

        /// <summary>Format: <c>"The lambda given to {0} captures '{1}', so it cannot be fused into its chain"</c>.</summary>
        public static readonly DiagnosticDescriptor LambdaCaptures = Create(
            "WEIR0006", "Lambda captures state", "The lambda given to {0} captures '{1}', so it cannot be fused into its chain; use a constant, a static member or a job parameter passed to a source, sink or function struct",
            "Lambdas become static methods of the fused chain; a captured variable would be shared mutable state outside Weir's checkpoints.");

        /// <summary>Format: <c>"Job parameter '{0}' has type '{1}', which the command line cannot parse; use string, bool, int, long or double"</c>.</summary>
        public static readonly DiagnosticDescriptor UnsupportedParameterType = Create(
            "WEIR0007", "Unsupported job parameter type", "Job parameter '{0}' has type '{1}', which the command line cannot parse; use string, bool, int, long or double",
            "The pipeline method's parameters after the builder become command-line options.");

        /// <summary>Format: <c>"Job '{0}' has no source"</c>.</summary>
        public static readonly DiagnosticDescriptor NoSource = Create(
            "WEIR0101", "Pipeline without source", "Job '{0}' has no source",
            "A job reads from at least one source (p.Source(...)).");

        /// <summary>Format: <c>"Job '{0}' has no sink: its results would go nowhere"</c>.</summary>
        public static readonly DiagnosticDescriptor NoSink = Create(
            "WEIR0102", "Pipeline without sink", "Job '{0}' has no sink: its results would go nowhere",
            "A job writes its results to at least one sink (.Sink(...)).");

        /// <summary>Format: <c>"The output of {0} never reaches a sink"</c>.</summary>
        public static readonly DiagnosticDescriptor UnreachableOperator = Create(
            "WEIR0103", "Operator output never reaches a sink", "The output of {0} never reaches a sink; connect it to a sink or remove it",
            "Every operator's records must flow to a sink; an operator whose output is dropped is almost always a wiring mistake.");

        /// <summary>Format: <c>"Parallelism must be a constant in [1, {1}]; got '{0}'"</c>.</summary>
        public static readonly DiagnosticDescriptor InvalidParallelism = Create(
            "WEIR0104", "Invalid parallelism", "Parallelism must be a constant in [1, {1}]; got '{0}'",
            "Parallelism in a pipeline is a compile-time constant between 1 and the max parallelism (32768 at most); set it per run with --parallelism.");

        /// <summary>Format: <c>"Max parallelism must be a constant in [1, 32768]; got '{0}'"</c>.</summary>
        public static readonly DiagnosticDescriptor InvalidMaxParallelism = Create(
            "WEIR0105", "Invalid max parallelism", "Max parallelism must be a constant in [1, 32768]; got '{0}'",
            "Max parallelism is the number of key groups, fixed for the life of the state.");

        /// <summary>Format: <c>"Parallelism(...) after Union(...) is ambiguous: set the parallelism of each input before the union"</c>.</summary>
        public static readonly DiagnosticDescriptor ParallelismAfterUnion = Create(
            "WEIR0106", "Parallelism of a union", "Parallelism(...) after Union(...) is ambiguous: set the parallelism of each input before the union",
            "Parallelism applies to the operator that produced a stream; a union has several.");

        /// <summary>Format: <c>"The stream connected to keyed stream ... must be broadcast"</c>.</summary>
        public static readonly DiagnosticDescriptor ConnectRequiresBroadcast = Create(
            "WEIR0107", "Connected stream is not broadcast", "The stream connected to a keyed stream must be broadcast: write .Connect({0}.Broadcast())",
            "A keyed stream is connected with a broadcast stream (Flink's broadcast state pattern): every subtask must receive every broadcast record, or the subtasks' broadcast states would differ.");

        /// <summary>Format: <c>"BroadcastFirst() on {0} would deadlock: its keyed and broadcast inputs both come from {1}"</c>.</summary>
        public static readonly DiagnosticDescriptor BroadcastFirstDeadlock = Create(
            "WEIR0108", "BroadcastFirst() would deadlock", "BroadcastFirst() on {0} would deadlock: its keyed and broadcast inputs both come from {1}",
            "BroadcastFirst() reads the broadcast input to its end before the keyed input; while it waits, the keyed input's senders block, so an operator upstream of both inputs would stop feeding the broadcast input.");

        /// <summary>Format: <c>"The ID of {0} must be a non-empty compile-time constant string"</c>.</summary>
        public static readonly DiagnosticDescriptor OperatorIdNotConstant = Create(
            "WEIR0201", "Stateful operator without an explicit ID", "The ID of {0} must be a non-empty compile-time constant string",
            "Operators that can hold state (sources, sinks, process, reduce, aggregate) are identified by an explicit, stable ID so that their state survives changes to the job.");

        /// <summary>Format: <c>"Operator ID '{0}' is used by more than one operator"</c>.</summary>
        public static readonly DiagnosticDescriptor DuplicateOperatorId = Create(
            "WEIR0202", "Duplicate operator ID", "Operator ID '{0}' is used by more than one operator",
            "Operator IDs identify state in checkpoints and savepoints and must be unique within a job.");

        /// <summary>Format: <c>"Key type '{0}' has no stable hash"</c>.</summary>
        public static readonly DiagnosticDescriptor KeyWithoutStableHash = Create(
            "WEIR0203", "Key type without a stable hash", "Key type '{0}' has no stable hash: use string, an integer type, bool, char, Guid, an enum, a tuple of these, or implement Weir.IStableHashable",
            "A key's hash decides its key group, so it must be the same in every process; string.GetHashCode() and default struct hashes are not.");

        /// <summary>Format: <c>"'{0}' declares keyed state '{1}' but is used on a non-keyed stream"</c>.</summary>
        public static readonly DiagnosticDescriptor KeyedStateOnNonKeyedStream = Create(
            "WEIR0204", "Keyed state on a non-keyed stream", "'{0}' declares keyed state '{1}' but is used on a non-keyed stream; key the stream with KeyBy(...) and implement IKeyedProcessFunction",
            "Keyed state is scoped to the current record's key, which only a keyed stream has.");

        /// <summary>Format: <c>"'{0}' must be a struct so that its calls can be fused"</c>.</summary>
        public static readonly DiagnosticDescriptor FunctionMustBeStruct = Create(
            "WEIR0205", "Function type must be a struct", "'{0}' must be a struct so that its calls can be fused (no virtual dispatch per record)",
            "Process and aggregate functions are structs: the fused chain holds them by value and calls them directly.");

        /// <summary>Format: <c>"State name '{1}' is declared twice in '{0}'"</c>.</summary>
        public static readonly DiagnosticDescriptor DuplicateStateName = Create(
            "WEIR0206", "Duplicate state name", "State name '{1}' is declared twice in '{0}'",
            "State names identify state inside an operator in checkpoints and savepoints.");

        /// <summary>Format: <c>"The {0} given to {1} must be an expression that creates it"</c>.</summary>
        public static readonly DiagnosticDescriptor UnsupportedValue = Create(
            "WEIR0207", "Unsupported source, sink or function value", "The {0} given to {1} cannot use the pipeline builder or stream variables",
            "Sources, sinks and function structs are created by copying their expression into the generated plan, where only job parameters and static members are in scope.");

        /// <summary>Format: <c>"Invalid time-to-live '{0}' on state '{1}' of '{2}'..."</c>.</summary>
        public static readonly DiagnosticDescriptor InvalidTimeToLive = Create(
            "WEIR0208", "Invalid state time-to-live", "Invalid time-to-live '{0}' on state '{1}' of '{2}': use a positive number and a unit (ms, s, m, h, d), e.g. \"10m\", and TtlCleanupPerRecord >= 0",
            "Time-to-live is checked at build time so a typo cannot silently keep state forever or drop it at once.");

        /// <summary>Format: <c>"Type '{0}' of {1} cannot be serialized..."</c>.</summary>
        public static readonly DiagnosticDescriptor StateTypeNotSerializable = Create(
            "WEIR0209", "State type cannot be serialized", "Type '{0}' of {1} cannot be serialized for checkpoints: mark it [MemoryPackable] and partial, or use primitives, strings, enums, unmanaged structs, or arrays, lists, dictionaries and tuples of those",
            "Keyed state and keys are written to checkpoints and savepoints with MemoryPack's generated (reflection-free, AOT-safe) serializers; a type it cannot serialize would fail only at the first checkpoint.");

        /// <summary>Format: <c>"'{0}' declares broadcast state '{1}' but is not the function of a broadcast-connected stream..."</c>.</summary>
        public static readonly DiagnosticDescriptor BroadcastStateOutsideBroadcastFunction = Create(
            "WEIR0210", "Broadcast state outside a broadcast-connected operator", "'{0}' declares broadcast state '{1}' but is not the function of a broadcast-connected stream; use keyed.Connect(rules.Broadcast()).Process(...) with an IKeyedBroadcastProcessFunction",
            "Broadcast state is written by the broadcast side of a connected operator; in any other operator nothing would ever fill it.");

        /// <summary>Format: <c>"Broadcast state field '{1}' of '{0}' must be declared as ReadOnlyBroadcastState..."</c>.</summary>
        public static readonly DiagnosticDescriptor WritableBroadcastStateField = Create(
            "WEIR0211", "Writable broadcast state field", "Broadcast state field '{1}' of '{0}' must be declared as ReadOnlyBroadcastState<TKey, TValue>; ProcessBroadcastElement gets the writable state from context.GetBroadcastState({1})",
            "Only the broadcast side may change broadcast state, or the subtasks' copies would drift apart; a read-only field makes a write from ProcessElement a compile error.");

        /// <summary>Format: <c>"ProcessBroadcastElement of '{0}' uses keyed state '{1}'..."</c>.</summary>
        public static readonly DiagnosticDescriptor KeyedStateInBroadcastElement = Create(
            "WEIR0212", "Keyed state used on the broadcast side", "ProcessBroadcastElement of '{0}' uses keyed state '{1}', but a broadcast record has no key; use keyed state only in ProcessElement",
            "A broadcast record reaches every subtask without a key, so keyed state has no current key there; a read or write would hit whichever key was processed last.");

        /// <summary>Format: <c>"{0} [baseline {1}; if no state written before must be kept, accept the change by writing the baseline anew: run the job binary with state-manifest --output {1} (the text of {2}.StateManifestJson)]"</c>.</summary>
        public static readonly DiagnosticDescriptor StateKindChanged = Create(
            "WEIR0301", "State kind changed", BaselineMessage,
            "A state's kind (Value, List, Map, Reducing, Aggregating, Broadcast) differs from the committed state baseline: state written by the previous version cannot be read as the new kind.");

        /// <summary>Format: as <see cref="StateKindChanged"/>.</summary>
        public static readonly DiagnosticDescriptor StateKeyTypeChanged = Create(
            "WEIR0302", "Key type changed", BaselineMessage,
            "The key type of a keyed operator, or of a map or broadcast state, differs from the committed state baseline: entries are stored and partitioned by their serialized key, so keys can never evolve (as in Flink).");

        /// <summary>Format: as <see cref="StateKindChanged"/>.</summary>
        public static readonly DiagnosticDescriptor StateValueTypeChanged = Create(
            "WEIR0303", "State value type changed", BaselineMessage,
            "The type a state stores differs from the committed state baseline; MemoryPack cannot read the old bytes as another type. Evolve the members of a version-tolerant type instead.");

        /// <summary>Format: as <see cref="StateKindChanged"/>.</summary>
        public static readonly DiagnosticDescriptor StateFieldTypeChanged = Create(
            "WEIR0304", "State member type changed", BaselineMessage,
            "A member of a type kept in state changed type since the committed state baseline (as in Flink's POJO rules, member types cannot change).");

        /// <summary>Format: as <see cref="StateKindChanged"/>.</summary>
        public static readonly DiagnosticDescriptor StateLayoutIncompatible = Create(
            "WEIR0305", "State type's serialized layout changed incompatibly", BaselineMessage,
            "A type kept in state changed in a way its MemoryPack layout does not tolerate: a member removed or moved in a default-layout type, any change of an unmanaged struct, or a change of layout (default to version-tolerant).");

        /// <summary>Format: as <see cref="StateKindChanged"/>.</summary>
        public static readonly DiagnosticDescriptor StatefulOperatorRemoved = Create(
            "WEIR0306", "Stateful operator removed", BaselineMessage,
            "An operator of the committed state baseline is no longer in the job: its state would be left behind by a restore (Flink refuses such a restore unless --allowNonRestoredState).",
            DiagnosticSeverity.Warning);

        /// <summary>Format: as <see cref="StateKindChanged"/>.</summary>
        public static readonly DiagnosticDescriptor StateRemoved = Create(
            "WEIR0307", "State removed", BaselineMessage,
            "A state of the committed state baseline is no longer declared by its operator: its contents would be left behind by a restore.",
            DiagnosticSeverity.Warning);

        /// <summary>Format: <c>"The state schema of job '{0}' changed compatibly since baseline {1}: {2}; update the baseline: run the job binary with state-manifest --output {1} (the text of {3}.StateManifestJson)"</c>.</summary>
        public static readonly DiagnosticDescriptor StateBaselineOutdated = Create(
            "WEIR0308", "State baseline out of date", "The state schema of job '{0}' changed compatibly since baseline {1}: {2}; update the baseline: run the job binary with state-manifest --output {1} (the text of {3}.StateManifestJson)",
            "Only compatible changes (members added to or removed from version-tolerant types, new states, new operators): state written before restores. Update the baseline so that the next change is compared with this version.",
            DiagnosticSeverity.Info);

        /// <summary>Format: <c>"Type '{0}' kept in state '{1}' of operator '{2}' has MemoryPack's default layout..."</c>.</summary>
        public static readonly DiagnosticDescriptor StateTypeNotVersionTolerant = Create(
            "WEIR0309", "State type is not version-tolerant", "Type '{0}' kept in state '{1}' of operator '{2}' has MemoryPack's default layout, which reads members by position: once state is checkpointed, members can only be appended, never removed or reordered; mark it [MemoryPackable(GenerateType.VersionTolerant)] and give each member a [MemoryPackOrder]",
            "State outlives the code that wrote it. A version-tolerant MemoryPack type identifies members by their order, so members can later be added and removed; switching layouts after state was checkpointed is itself incompatible, so choose before the first savepoint that must be kept.",
            DiagnosticSeverity.Warning);

        /// <summary>Format: <c>"State baseline {0} cannot be read: {1}"</c>.</summary>
        public static readonly DiagnosticDescriptor StateBaselineUnreadable = Create(
            "WEIR0310", "State baseline cannot be read", "State baseline {0} cannot be read: {1}",
            "A state baseline (an AdditionalFiles item named {job}.weirstate.json) must hold the JSON of a job's StateManifestJson; an unreadable baseline would silently turn off the schema check.");

        /// <summary>Format: <c>"Window operator '{0}' has no event-time timestamps upstream..."</c>.</summary>
        public static readonly DiagnosticDescriptor WindowWithoutTimestamps = Create(
            "WEIR0401", "Event-time operator without timestamps", "Event-time operator '{0}' (a window or a join) has no event-time timestamps upstream of an input: it would never fire; call AssignTimestampsAndWatermarks(...) on each input stream before KeyBy",
            "Event-time windows fire when the watermark passes their end; without a timestamp assigner upstream records carry no timestamps and no watermark ever arrives.");

        /// <summary>Format: <c>"Session windows of '{0}' merge, but aggregate function '{1}' cannot merge accumulators..."</c>.</summary>
        public static readonly DiagnosticDescriptor SessionAggregateNotMergeable = Create(
            "WEIR0402", "Session windows need a mergeable aggregate", "Session windows of '{0}' merge, but aggregate function '{1}' cannot merge accumulators: implement IMergeableAggregateFunction<TIn, TAcc, TOut>",
            "Two sessions of a key merge when a record bridges them, and so must their accumulators (Flink's AggregateFunction.merge).");

        /// <summary>Format: <c>"SideOutputLateData of '{0}' needs 'out var name'..."</c>.</summary>
        public static readonly DiagnosticDescriptor LateOutputNotDeclared = Create(
            "WEIR0403", "Late output must declare a stream variable", "SideOutputLateData needs 'out var name' (a new stream variable) to receive the late records; got '{0}'",
            "The late records form a stream of their own, which the pipeline continues from that variable (usually to a sink).");

        /// <summary>Format: <c>"Window join '{0}' uses merging (session) windows..."</c>.</summary>
        public static readonly DiagnosticDescriptor SessionWindowJoin = Create(
            "WEIR0404", "Window join with session windows", "Window join '{0}' uses merging (session) windows, which a window join does not support; use tumbling or sliding windows, or an interval join",
            "A window join pairs the records of one key and one window; sessions change their bounds as records arrive, so their pairs would change after they were emitted.");

        private const string BaselineMessage = "{0} [baseline {1}; if no state written before must be kept, accept the change by writing the baseline anew: run the job binary with state-manifest --output {1} (the text of {2}.StateManifestJson)]";

        private static DiagnosticDescriptor Create(string id, string title, string message, string description, DiagnosticSeverity severity = DiagnosticSeverity.Error)
            => new(id, title, message, Category, severity, isEnabledByDefault: true, description: description, helpLinkUri: HelpBase + id.ToLowerInvariant());
    }
}
