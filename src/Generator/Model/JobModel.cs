using Weir.Generator.Helpers;

namespace Weir.Generator.Model
{
    internal enum OperatorKind
    {
        Source,
        Map,
        Filter,
        FlatMap,
        Process,
        KeyedProcess,
        KeyedBroadcastProcess,
        Reduce,
        Aggregate,
        Sink,

        /// <summary>Assigns event-time timestamps and generates watermarks (AssignTimestampsAndWatermarks).</summary>
        Timestamps,

        /// <summary>A keyed event-time window (Window(...).Reduce/Aggregate/Process).</summary>
        Window,

        /// <summary>Two keyed streams connected, processed by one keyed co-process function.</summary>
        KeyedCoProcess,

        /// <summary>Two keyed streams joined per key and event-time window.</summary>
        WindowJoin,

        /// <summary>Two keyed streams joined per key and timestamp distance.</summary>
        IntervalJoin,
    }

    /// <summary>How a window operator evaluates its windows.</summary>
    internal enum WindowFunctionKind
    {
        Reduce,
        Aggregate,
        Process,

        /// <summary>An incremental aggregate whose result goes to a full-window function.</summary>
        AggregateProcess,
    }

    internal enum Partitioning
    {
        Forward,
        Rebalance,
        Broadcast,
        Hash,
    }

    /// <summary>A user function fused into a chain: a lambda (emitted as a static method) or a method group (called by name).</summary>
    /// <param name="CallTarget">The generated method's name for a lambda, the method group's text otherwise.</param>
    /// <param name="ParameterNames">A lambda's parameter names.</param>
    /// <param name="ParameterTypes">The delegate's parameter types (fully qualified).</param>
    /// <param name="ReturnType">The delegate's return type, or "void".</param>
    /// <param name="Body">A lambda's body text (an expression or a block), null for a method group.</param>
    internal sealed record FunctionModel(
        string CallTarget,
        EquatableArray<string> ParameterNames,
        EquatableArray<string> ParameterTypes,
        string ReturnType,
        string? Body,
        bool IsExpressionBody);

    /// <summary>One input of an operator: the producing operator, how records are partitioned, and which of the operator's typed inputs it feeds (1: the broadcast side of a connected stream).</summary>
    /// <param name="Port">Which output of the producer: 0 its records, 1 its late records (a window's side output).</param>
    internal sealed record InputModel(int Producer, Partitioning Partitioning, int Side = 0, int Port = 0);

    /// <summary>A keyed state field of a process function.</summary>
    /// <param name="FieldName">The field's name in the function struct.</param>
    /// <param name="StateName">The state's name (its identity inside the operator).</param>
    /// <param name="Kind">Value, List, Map, Reducing or Aggregating (the runtime's KeyedStateKind names), or Broadcast for a ReadOnlyBroadcastState field.</param>
    /// <param name="FieldType">The field's fully qualified type.</param>
    /// <param name="TypeArguments">The state type's type arguments, fully qualified.</param>
    /// <param name="TtlMilliseconds">The time-to-live in milliseconds, or null.</param>
    /// <param name="TtlUpdate">The StateTtlUpdate member name.</param>
    /// <param name="TtlVisibility">The StateTtlVisibility member name.</param>
    /// <param name="TtlCleanupPerRecord">Keys checked per record by incremental cleanup.</param>
    internal sealed record StateFieldModel(
        string FieldName,
        string StateName,
        string Kind,
        string FieldType,
        EquatableArray<string> TypeArguments,
        long? TtlMilliseconds,
        string TtlUpdate,
        string TtlVisibility,
        int TtlCleanupPerRecord);

    /// <summary>An operator of the job graph.</summary>
    internal sealed record OperatorModel(
        int Index,
        OperatorKind Kind,
        string? ExplicitId,
        string DisplayName,
        string InType,
        string OutType,
        EquatableArray<InputModel> Inputs,
        int? Parallelism,
        FunctionModel? Function,
        string? ValueExpression,
        string? ValueType,
        string? ReaderOrWriterType,
        string? KeyType,
        FunctionModel? KeySelector,
        string? KeyHashTemplate,
        string? AccumulatorType,
        EquatableArray<StateFieldModel> States,
        string? BroadcastType = null,
        bool BroadcastFirst = false,
        WindowModel? Window = null,
        bool HasTimers = false,
        string? WatermarkGeneratorType = null,
        JoinModel? Join = null)
    {
        public bool IsKeyed => Kind is OperatorKind.KeyedProcess or OperatorKind.KeyedBroadcastProcess or OperatorKind.Reduce or OperatorKind.Aggregate or OperatorKind.Window
            or OperatorKind.KeyedCoProcess or OperatorKind.WindowJoin or OperatorKind.IntervalJoin;

        /// <summary>Whether the operator has two keyed inputs (connected keyed streams or a join).</summary>
        public bool IsKeyedPair => Kind is OperatorKind.KeyedCoProcess or OperatorKind.WindowJoin or OperatorKind.IntervalJoin;
    }

    /// <summary>The second input of an operator over two keyed streams, and a join's window or bounds.</summary>
    /// <param name="SecondType">The second input's record type.</param>
    /// <param name="SecondKeySelector">The second input's key selector.</param>
    /// <param name="AssignerType">A window join's assigner type.</param>
    /// <param name="AssignerExpression">A window join's assigner expression.</param>
    /// <param name="LowerExpression">An interval join's lower bound (a TimeSpan expression).</param>
    /// <param name="UpperExpression">An interval join's upper bound.</param>
    internal sealed record JoinModel(string SecondType, FunctionModel? SecondKeySelector, string? AssignerType, string? AssignerExpression, string? LowerExpression, string? UpperExpression);

    /// <summary>A window operator's shape.</summary>
    /// <param name="AssignerType">The window assigner's type (fully qualified).</param>
    /// <param name="AssignerExpression">The expression creating the assigner, copied into the plan.</param>
    /// <param name="LatenessExpression">The allowed lateness (a TimeSpan expression), or null for zero.</param>
    /// <param name="Function">Reduce, aggregate or full-window process.</param>
    /// <param name="ContentsType">What a window keeps: the reduced value, the accumulator or a list of records.</param>
    /// <param name="HasLateOutput">Whether late records go to a side output.</param>
    /// <param name="WindowFunctionType">The full-window function's type after an aggregate (AggregateProcess).</param>
    /// <param name="WindowFunctionExpression">The expression creating it.</param>
    /// <param name="ResultType">The aggregate's result type (AggregateProcess).</param>
    /// <param name="TimersInState">Whether the window's timers are keyed state (<c>__timers</c>, listed in the state manifest): merging windows and declared lateness; otherwise the runtime derives them from the open windows.</param>
    internal sealed record WindowModel(string AssignerType, string AssignerExpression, string? LatenessExpression, WindowFunctionKind Function, string ContentsType, bool HasLateOutput, bool TimersInState, string? WindowFunctionType = null, string? WindowFunctionExpression = null, string? ResultType = null);

    /// <summary>A job parameter (a pipeline method parameter after the builder).</summary>
    internal sealed record ParameterModel(string Name, string Type, string OptionName, string? Description, string? DefaultValue);

    /// <summary>A fused chain: a linear run of operators joined by forward edges; <paramref name="InType2"/> is the broadcast input's type of a two-input chain.</summary>
    internal sealed record ChainModel(int Index, EquatableArray<int> Operators, int? Parallelism, bool IsKeyed, bool StartsAtSource, string InType, string? InType2 = null, bool BroadcastFirst = false);

    /// <summary>An exchange between chains, into input <paramref name="ToInput"/> of the receiving chain.</summary>
    /// <param name="FromPort">Which output of the sending operator (1: a window's late records).</param>
    internal sealed record EdgeModel(int Index, int FromOperator, int FromChain, int ToOperator, int ToChain, Partitioning Partitioning, int ToInput = 0, int FromPort = 0);

    /// <summary>Everything the emitter needs for one job; holds no symbols or syntax.</summary>
    internal sealed record JobModel(
        string? Namespace,
        string ClassName,
        string JobName,
        EquatableArray<string> Usings,
        string PipelineMethod,
        EquatableArray<ParameterModel> Parameters,
        int? DefaultParallelism,
        int? MaxParallelism,
        EquatableArray<OperatorModel> Operators,
        EquatableArray<ChainModel> Chains,
        EquatableArray<EdgeModel> Edges,
        EquatableArray<string> FormatterRegistrations,
        StateManifestModel Manifest,
        bool UsesEventTime = false);

    /// <summary>The parser's result for one job class: a model (null when it has errors) and its diagnostics.</summary>
    /// <param name="Schema">The job's state schema with locations, for the baseline check (null when the job has errors).</param>
    internal sealed record JobParseResult(JobModel? Model, EquatableArray<DiagnosticInfo> Diagnostics, JobSchemaModel? Schema = null);
}
