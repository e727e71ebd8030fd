using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Weir.Generator.Diagnostics;
using Weir.Generator.Helpers;
using Weir.Generator.Model;

namespace Weir.Generator
{
    /// <summary>
    /// Reads a [Job] class into a <see cref="JobModel"/>: interprets the [Pipeline] method's fluent
    /// calls symbolically (it is never run), checks the graph, and plans the fused chains.
    /// </summary>
    internal sealed partial class Parser
    {
        internal const string JobAttribute = "Weir.JobAttribute";
        private const string PipelineAttribute = "Weir.PipelineAttribute";
        private const string StateAttribute = "Weir.StateAttribute";
        private const string OptionAttribute = "Weir.OptionAttribute";
        private const string BuilderType = "Weir.PipelineBuilder";
        private const string StreamType = "Weir.DataStream<T>";
        private const string KeyedStreamType = "Weir.KeyedStream<TKey, T>";
        private const string SinkDefinitionType = "Weir.SinkDefinition";
        private const string ConnectedStreamType = "Weir.BroadcastConnectedStream<TKey, T, TBroadcast>";
        private const string WindowedStreamType = "Weir.WindowedStream<TKey, T, TAssigner>";
        private const string ConnectedKeyedType = "Weir.ConnectedKeyedStreams<TKey, T1, T2>";
        private const string JoinedKeyedType = "Weir.JoinedKeyedStreams<TKey, T1, T2>";
        private const string WindowedJoinType = "Weir.WindowedJoin<TKey, T1, T2, TAssigner>";
        private const string IntervalJoinBuilderType = "Weir.IntervalJoinBuilder<TKey, T1, T2>";
        private const string IntervalJoinedType = "Weir.IntervalJoined<TKey, T1, T2>";
        private const string TimerFunctionType = "Weir.IKeyedTimerFunction<TKey, TOut>";
        private const string MergeableAggregateType = "Weir.IMergeableAggregateFunction<TIn, TAcc, TOut>";
        private const string SessionAssignerType = "global::Weir.SessionWindows";
        private const string BroadcastStateAttribute = "Weir.BroadcastStateAttribute";
        private const string ReadOnlyBroadcastStateType = "Weir.ReadOnlyBroadcastState<TKey, TValue>";
        private const string WritableBroadcastStateType = "Weir.BroadcastState<TKey, TValue>";
        private const string KeyedBroadcastFunctionType = "Weir.IKeyedBroadcastProcessFunction<TKey, TIn, TBroadcast, TOut>";
        private const string MemoryPackableAttribute = "MemoryPack.MemoryPackableAttribute";

        // Keyed state types by their generic definitions, with the kind the runtime declares them as.
        private static readonly Dictionary<string, string> s_stateKinds = new()
        {
            ["Weir.ValueState<T>"] = "Value",
            ["Weir.ListState<T>"] = "List",
            ["Weir.MapState<TKey, TValue>"] = "Map",
            ["Weir.ReducingState<T, TReduce>"] = "Reducing",
            ["Weir.AggregatingState<TIn, TAcc, TOut, TAggregate>"] = "Aggregating",
        };
        private const string StableHashableType = "Weir.IStableHashable";
        private const int MaxParallelismUpperBound = 1 << 15;

        private static readonly SymbolDisplayFormat s_typeFormat = SymbolDisplayFormat.FullyQualifiedFormat
            .AddMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.IncludeNullableReferenceTypeModifier);

        private readonly SemanticModel _model;
        private readonly CancellationToken _cancellation;
        private readonly List<DiagnosticInfo> _diagnostics = new();

        // Warnings do not stop code generation (errors in _diagnostics do).
        private readonly List<DiagnosticInfo> _warnings = new();
        private readonly List<OperatorDraft> _operators = new();

        // MemoryPack builds the formatters of generic types (tuples with references, List, Dictionary...)
        // by reflection, which Native AOT cannot do: the generated code registers them by name instead.
        private readonly SortedSet<string> _formatterRegistrations = new(StringComparer.Ordinal);
        private readonly Dictionary<ISymbol, object> _locals = new(SymbolEqualityComparer.Default);
        private IParameterSymbol _builder = null!;
        private int? _defaultParallelism;
        private int? _maxParallelism;

        private Parser(SemanticModel model, CancellationToken cancellation)
        {
            _model = model;
            _cancellation = cancellation;
        }

        public static JobParseResult Parse(GeneratorAttributeSyntaxContext context, CancellationToken cancellation)
        {
            var declaration = (ClassDeclarationSyntax)context.TargetNode;
            var type = (INamedTypeSymbol)context.TargetSymbol;
            string jobName = context.Attributes[0].ConstructorArguments.FirstOrDefault().Value as string ?? type.Name;
            try
            {
                return Parse(context.SemanticModel, declaration, type, jobName, cancellation);
            }
            catch (OperationCanceledException)
            {
                throw;
            }
            catch (Exception ex)
            {
                return new JobParseResult(null, new EquatableArray<DiagnosticInfo>(new[]
                {
                    DiagnosticInfo.Create(DiagnosticDescriptors.GeneratorError, declaration.Identifier.Parent, jobName, ex.GetType().Name + ": " + ex.Message),
                }));
            }
        }

        private static JobParseResult Parse(SemanticModel classModel, ClassDeclarationSyntax declaration, INamedTypeSymbol type, string jobName, CancellationToken cancellation)
        {
            if (!type.IsStatic || type.IsGenericType || type.ContainingType is not null || !declaration.Modifiers.Any(SyntaxKind.PartialKeyword))
            {
                return Fail(DiagnosticInfo.Create(DiagnosticDescriptors.JobClassShape, IdentifierOf(declaration), type.Name));
            }

            IMethodSymbol[] pipelines = type.GetMembers().OfType<IMethodSymbol>()
                .Where(m => m.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == PipelineAttribute))
                .ToArray();
            if (pipelines.Length != 1)
            {
                return Fail(DiagnosticInfo.Create(DiagnosticDescriptors.PipelineMethodCount, IdentifierOf(declaration), jobName, pipelines.Length.ToString(CultureInfo.InvariantCulture)));
            }

            IMethodSymbol method = pipelines[0];
            var syntax = method.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(cancellation) as MethodDeclarationSyntax;
            if (syntax is null || !method.IsStatic || !method.ReturnsVoid || method.IsGenericMethod || method.Parameters.Length == 0
                || method.Parameters[0].Type.ToDisplayString() != BuilderType)
            {
                return Fail(DiagnosticInfo.Create(DiagnosticDescriptors.PipelineMethodSignature, (SyntaxNode?)syntax?.Identifier.Parent ?? declaration, method.Name));
            }

            SemanticModel model = syntax.SyntaxTree == classModel.SyntaxTree ? classModel : classModel.Compilation.GetSemanticModel(syntax.SyntaxTree);
            var parser = new Parser(model, cancellation) { _builder = method.Parameters[0] };
            EquatableArray<ParameterModel> parameters = parser.ReadParameters(method);
            parser.Interpret(syntax);
            return parser.Finish(type, declaration, syntax, jobName, parameters);
        }

        private static JobParseResult Fail(DiagnosticInfo diagnostic) => new(null, new EquatableArray<DiagnosticInfo>(new[] { diagnostic }));

        private static SyntaxNode IdentifierOf(ClassDeclarationSyntax declaration) => declaration;

        // ---- Job parameters -------------------------------------------------------------------

        private EquatableArray<ParameterModel> ReadParameters(IMethodSymbol method)
        {
            var parameters = new List<ParameterModel>();
            foreach (IParameterSymbol parameter in method.Parameters.Skip(1))
            {
                var syntax = parameter.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(_cancellation) as ParameterSyntax;
                if (parameter.Type.SpecialType is not (SpecialType.System_String or SpecialType.System_Boolean or SpecialType.System_Int32 or SpecialType.System_Int64 or SpecialType.System_Double)
                    || parameter.RefKind != RefKind.None)
                {
                    Report(DiagnosticDescriptors.UnsupportedParameterType, syntax, parameter.Name, parameter.Type.ToDisplayString());
                    continue;
                }

                AttributeData? option = parameter.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == OptionAttribute);
                string? description = option?.ConstructorArguments.FirstOrDefault().Value as string;
                string? optionName = option?.NamedArguments.FirstOrDefault(a => a.Key == "Name").Value.Value as string;
                parameters.Add(new ParameterModel(
                    parameter.Name,
                    TypeName(parameter.Type),
                    optionName ?? "--" + KebabCase(parameter.Name),
                    description,
                    syntax?.Default?.Value.ToString()));
            }

            return parameters.ToEquatableArray();
        }

        private static string KebabCase(string name)
        {
            var text = new StringBuilder();
            foreach (char c in name.TrimStart('_', '@'))
            {
                if (char.IsUpper(c) && text.Length > 0)
                {
                    text.Append('-');
                }

                text.Append(char.ToLowerInvariant(c));
            }

            return text.ToString();
        }

        // ---- Symbolic interpretation of the pipeline body ---------------------------------------

        private void Interpret(MethodDeclarationSyntax method)
        {
            if (method.ExpressionBody is { } arrow)
            {
                Evaluate(arrow.Expression);
                return;
            }

            foreach (StatementSyntax statement in method.Body?.Statements ?? default)
            {
                _cancellation.ThrowIfCancellationRequested();
                switch (statement)
                {
                    case ExpressionStatementSyntax expression:
                        Evaluate(expression.Expression);
                        break;
                    case LocalDeclarationStatementSyntax local when !local.IsConst && local.UsingKeyword == default:
                        foreach (VariableDeclaratorSyntax variable in local.Declaration.Variables)
                        {
                            object? value = variable.Initializer is null ? null : Evaluate(variable.Initializer.Value);
                            if (value is null && variable.Initializer is null)
                            {
                                Report(DiagnosticDescriptors.UnsupportedPipelineCode, variable, variable.ToString(), "a local must be initialized with a stream");
                            }

                            if (value is not null && _model.GetDeclaredSymbol(variable, _cancellation) is { } symbol)
                            {
                                _locals[symbol] = value;
                            }
                        }

                        break;
                    case EmptyStatementSyntax:
                        break;
                    default:
                        Report(DiagnosticDescriptors.UnsupportedPipelineCode, statement, FirstLine(statement), "use only pipeline calls and 'var' locals holding streams");
                        break;
                }
            }
        }

        private object? Evaluate(ExpressionSyntax expression)
        {
            switch (expression)
            {
                case ParenthesizedExpressionSyntax parenthesized:
                    return Evaluate(parenthesized.Expression);
                case IdentifierNameSyntax identifier:
                    ISymbol? symbol = _model.GetSymbolInfo(identifier, _cancellation).Symbol;
                    if (SymbolEqualityComparer.Default.Equals(symbol, _builder))
                    {
                        return BuilderValue.Instance;
                    }

                    if (symbol is not null && _locals.TryGetValue(symbol, out object? local))
                    {
                        return local;
                    }

                    Report(DiagnosticDescriptors.UnsupportedPipelineCode, identifier, identifier.ToString(), "only the builder and locals holding streams can start a pipeline call");
                    return null;
                case InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax access } invocation:
                    object? receiver = Evaluate(access.Expression);
                    if (receiver is null)
                    {
                        return null;
                    }

                    if (_model.GetSymbolInfo(invocation, _cancellation).Symbol is not IMethodSymbol method)
                    {
                        // The C# compiler reports why the call does not bind.
                        return null;
                    }

                    return Invoke(receiver, method, invocation);
                default:
                    Report(DiagnosticDescriptors.UnsupportedPipelineCode, expression, FirstLine(expression), "use only pipeline calls");
                    return null;
            }
        }

        private object? Invoke(object receiver, IMethodSymbol method, InvocationExpressionSyntax invocation)
        {
            IReadOnlyList<ArgumentSyntax> args = InParameterOrder(invocation.ArgumentList.Arguments, method);
            string owner = method.ContainingType.OriginalDefinition.ToDisplayString();
            switch (receiver, owner, method.Name)
            {
                case (BuilderValue, BuilderType, "Parallelism"):
                    _defaultParallelism = ConstantParallelism(args, invocation) ?? _defaultParallelism;
                    return receiver;
                case (BuilderValue, BuilderType, "MaxParallelism"):
                    object? max = args.Count == 1 ? _model.GetConstantValue(args[0].Expression, _cancellation).Value : null;
                    if (max is int m && m >= 1 && m <= MaxParallelismUpperBound)
                    {
                        _maxParallelism = m;
                    }
                    else
                    {
                        Report(DiagnosticDescriptors.InvalidMaxParallelism, invocation, args.Count == 1 ? args[0].ToString() : string.Empty);
                    }

                    return receiver;
                case (BuilderValue, BuilderType, "Source"):
                    {
                        int op = AddOperator(OperatorKind.Source, invocation, args, null, TypeName(method.TypeArguments[0]), TypeName(method.TypeArguments[0]));
                        SetValue(op, args, 1, "source", TypeName(method.TypeArguments[1]));
                        return new StreamValue(new[] { new InputModel(op, Partitioning.Forward) }, null);
                    }

                case (StreamValue stream, StreamType, _):
                    return InvokeStream(stream, method, invocation, args);
                case (StreamValue stream, KeyedStreamType, _):
                    return InvokeKeyed(stream, method, invocation, args);
                case (ConnectedValue connected, ConnectedStreamType, _):
                    return InvokeConnected(connected, method, invocation, args);
                case (WindowedValue windowed, WindowedStreamType, _):
                    return InvokeWindowed(windowed, method, invocation, args);
                case (KeyedPairValue pair, ConnectedKeyedType or JoinedKeyedType or WindowedJoinType or IntervalJoinBuilderType or IntervalJoinedType, _):
                    return InvokeKeyedPair(pair, method, invocation, args);
                case (SinkValue sink, SinkDefinitionType, "Parallelism"):
                    _operators[sink.Operator].Parallelism = ConstantParallelism(args, invocation);
                    return sink;
                default:
                    Report(DiagnosticDescriptors.UnsupportedPipelineCode, invocation, FirstLine(invocation), "not a Weir pipeline call");
                    return null;
            }
        }

        /// <summary>The arguments in the order of the parameters they bind to (named arguments may come in any order).</summary>
        private static IReadOnlyList<ArgumentSyntax> InParameterOrder(SeparatedSyntaxList<ArgumentSyntax> args, IMethodSymbol method)
        {
            if (!args.Any(a => a.NameColon is not null))
            {
                return args;
            }

            return args
                .Select((arg, position) => (arg, position: arg.NameColon is { } name
                    ? method.Parameters.FirstOrDefault(p => p.Name == name.Name.Identifier.ValueText)?.Ordinal ?? position
                    : position))
                .OrderBy(a => a.position)
                .Select(a => a.arg)
                .ToArray();
        }

        private object? InvokeStream(StreamValue stream, IMethodSymbol method, InvocationExpressionSyntax invocation, IReadOnlyList<ArgumentSyntax> args)
        {
            string t = TypeName(method.ContainingType.TypeArguments[0]);
            switch (method.Name)
            {
                case "Map":
                    return Stream(AddFunctionOperator(OperatorKind.Map, stream, invocation, args, method, t, TypeName(method.TypeArguments[0])));
                case "AssignTimestampsAndWatermarks":
                    {
                        int op = AddFunctionOperator(OperatorKind.Timestamps, stream, invocation, args, method, t, t);
                        SetValue(op, args, 1, "watermark strategy", string.Empty);
                        _operators[op].ReaderOrWriterType = null;
                        _operators[op].WatermarkGeneratorType = TypeName(method.TypeArguments[0]);
                        return Stream(op);
                    }

                case "Filter":
                    return Stream(AddFunctionOperator(OperatorKind.Filter, stream, invocation, args, method, t, t));
                case "FlatMap":
                    return Stream(AddFunctionOperator(OperatorKind.FlatMap, stream, invocation, args, method, t, TypeName(method.TypeArguments[0])));
                case "Process":
                    {
                        int op = AddOperator(OperatorKind.Process, invocation, args, stream, t, TypeName(method.TypeArguments[0]));
                        SetFunctionStruct(op, args, keyed: false);
                        return Stream(op);
                    }

                case "KeyBy":
                    {
                        ITypeSymbol keyType = method.TypeArguments[0];
                        string? template = KeyHashTemplate(keyType, "{key}");
                        if (template is null)
                        {
                            Report(DiagnosticDescriptors.KeyWithoutStableHash, args.Count > 0 ? args[0] : invocation, keyType.ToDisplayString());
                        }
                        else if (IsSerializable(keyType))
                        {
                            CollectFormatters(keyType, _formatterRegistrations);
                        }
                        else
                        {
                            // Keys are written to checkpoints with their state (and are the FASTER backend's record keys).
                            Report(DiagnosticDescriptors.StateTypeNotSerializable, args.Count > 0 ? args[0] : invocation, keyType.ToDisplayString(), "the key of KeyBy");
                        }

                        // The selector's generated name is fixed by the keyed operator that consumes it (see InvokeKeyed).
                        FunctionModel? selector = ReadFunction(args, 0, method, "KeyBy", "Key");
                        return new StreamValue(stream.Inputs.Select(i => i with { Partitioning = Partitioning.Hash }).ToArray(), new KeyInfo(TypeName(keyType), selector, template, SchemaOf(keyType)));
                    }

                case "Union":
                    {
                        var inputs = new List<InputModel>(stream.Inputs);
                        foreach (ArgumentSyntax arg in args)
                        {
                            if (Evaluate(arg.Expression) is StreamValue other)
                            {
                                inputs.AddRange(other.Inputs);
                            }
                        }

                        return new StreamValue(inputs.ToArray(), null);
                    }

                case "Rebalance":
                    return new StreamValue(stream.Inputs.Select(i => i with { Partitioning = Partitioning.Rebalance }).ToArray(), null);
                case "Broadcast":
                    return new StreamValue(stream.Inputs.Select(i => i with { Partitioning = Partitioning.Broadcast }).ToArray(), null);
                case "Parallelism":
                    if (stream.Inputs.Length != 1)
                    {
                        Report(DiagnosticDescriptors.ParallelismAfterUnion, invocation);
                        return stream;
                    }

                    _operators[stream.Inputs[0].Producer].Parallelism = ConstantParallelism(args, invocation);
                    return stream;
                case "Sink":
                    {
                        int op = AddOperator(OperatorKind.Sink, invocation, args, stream, t, t);
                        SetValue(op, args, 1, "sink", TypeName(method.TypeArguments[0]));
                        return new SinkValue(op);
                    }

                default:
                    Report(DiagnosticDescriptors.UnsupportedPipelineCode, invocation, FirstLine(invocation), "not a Weir pipeline call");
                    return null;
            }
        }

        private void ReportUnlessSerializable(ITypeSymbol type, string what, SyntaxNode where)
        {
            if (IsSerializable(type))
            {
                CollectFormatters(type, _formatterRegistrations);
            }
            else
            {
                Report(DiagnosticDescriptors.StateTypeNotSerializable, where, type.ToDisplayString(), what);
            }
        }

        private object? InvokeKeyed(StreamValue stream, IMethodSymbol method, InvocationExpressionSyntax invocation, IReadOnlyList<ArgumentSyntax> args)
        {
            string t = TypeName(method.ContainingType.TypeArguments[1]);
            int op;
            switch (method.Name)
            {
                case "Connect" or "Join" or "IntervalJoin" when method.Parameters.Length == 1
                    && method.Parameters[0].Type.OriginalDefinition.ToDisplayString() == KeyedStreamType:
                    {
                        StreamValue? other = args.Count > 0 ? Evaluate(args[0].Expression) as StreamValue : null;
                        if (other?.Key is null)
                        {
                            return null;
                        }

                        return new KeyedPairValue(method.Name, stream, other, TypeName(method.TypeArguments[0]), null, null, null, null);
                    }

                case "Connect":
                    {
                        // The other side must reach every subtask: only a broadcast stream can feed
                        // broadcast state. The connection is still recorded after reporting, so its
                        // inputs are not also reported as dangling.
                        StreamValue broadcast = args.Count > 0 && Evaluate(args[0].Expression) is StreamValue other ? other : new StreamValue(Array.Empty<InputModel>(), null);
                        if (args.Count > 0 && broadcast.Inputs.Any(i => i.Partitioning != Partitioning.Broadcast))
                        {
                            Report(DiagnosticDescriptors.ConnectRequiresBroadcast, args[0], args[0].Expression.ToString());
                        }

                        return new ConnectedValue(stream, broadcast, false);
                    }

                case "Window":
                    {
                        ExpressionSyntax? assigner = args.Count > 0 ? args[0].Expression : null;
                        return new WindowedValue(stream, TypeName(method.TypeArguments[0]), assigner?.ToString() ?? string.Empty, null, null);
                    }

                case "Process":
                    op = AddOperator(OperatorKind.KeyedProcess, invocation, args, stream, t, TypeName(method.TypeArguments[0]));
                    SetFunctionStruct(op, args, keyed: true);
                    if (args.Count > 1 && _model.GetTypeInfo(args[1].Expression, _cancellation).Type is { } functionType
                        && functionType.AllInterfaces.Any(i => i.OriginalDefinition.ToDisplayString() == TimerFunctionType))
                    {
                        _operators[op].HasTimers = true;
                        AddTimerSchema(op, invocation);
                    }

                    break;
                case "Reduce":
                    op = AddOperator(OperatorKind.Reduce, invocation, args, stream, t, t);
                    _operators[op].Function = ReadFunction(args, 1, method, "Reduce", "Reduce_" + op.ToString(CultureInfo.InvariantCulture));
                    ReportUnlessSerializable(method.ContainingType.TypeArguments[1], "the reduced value", invocation);
                    AddStateSchema(op, "value", "Value", invocation, method.ContainingType.TypeArguments[1]);
                    break;
                case "Aggregate":
                    ReportUnlessSerializable(method.TypeArguments[0], "the accumulator", invocation);
                    op = AddOperator(OperatorKind.Aggregate, invocation, args, stream, t, TypeName(method.TypeArguments[1]));
                    _operators[op].AccumulatorType = TypeName(method.TypeArguments[0]);
                    AddStateSchema(op, "accumulator", "Value", invocation, method.TypeArguments[0]);
                    SetFunctionStruct(op, args, keyed: true);
                    break;
                default:
                    Report(DiagnosticDescriptors.UnsupportedPipelineCode, invocation, FirstLine(invocation), "not a Weir pipeline call");
                    return null;
            }

            SetKey(op, stream.Key!);
            return Stream(op);
        }

        private object? InvokeWindowed(WindowedValue windowed, IMethodSymbol method, InvocationExpressionSyntax invocation, IReadOnlyList<ArgumentSyntax> args)
        {
            ITypeSymbol recordType = method.ContainingType.TypeArguments[1];
            string t = TypeName(recordType);
            switch (method.Name)
            {
                case "AllowedLateness":
                    // A lateness that is zero as written is no lateness: the window needs no timers in state.
                    return windowed with { Lateness = args.Count > 0 && !IsZeroDuration(args[0].Expression) ? args[0].Expression.ToString() : null };
                case "SideOutputLateData":
                    if (args.Count > 0 && args[0].Expression is DeclarationExpressionSyntax { Designation: SingleVariableDesignationSyntax designation }
                        && _model.GetDeclaredSymbol(designation, _cancellation) is { } late)
                    {
                        return windowed with { LateLocal = late };
                    }

                    Report(DiagnosticDescriptors.LateOutputNotDeclared, invocation, args.Count > 0 ? args[0].ToString() : string.Empty);
                    return windowed;
            }

            WindowFunctionKind function;
            ITypeSymbol contents;
            int op;
            (string Type, string Expression, string Result)? aggregateWindow = null;
            switch (method.Name)
            {
                case "Reduce":
                    function = WindowFunctionKind.Reduce;
                    contents = recordType;
                    op = AddOperator(OperatorKind.Window, invocation, args, windowed.Keyed, t, t);
                    _operators[op].Function = ReadFunction(args, 1, method, "Reduce", "Reduce_" + op.ToString(CultureInfo.InvariantCulture));
                    break;
                case "Aggregate":
                    function = method.Parameters.Length == 3 ? WindowFunctionKind.AggregateProcess : WindowFunctionKind.Aggregate;
                    contents = method.TypeArguments[0];
                    op = AddOperator(OperatorKind.Window, invocation, args, windowed.Keyed, t, TypeName(method.TypeArguments[method.TypeArguments.Length - 1]));
                    if (function == WindowFunctionKind.AggregateProcess && args.Count > 2)
                    {
                        ExpressionSyntax windowFunction = args[2].Expression;
                        ITypeSymbol? windowFunctionType = _model.GetTypeInfo(windowFunction, _cancellation).Type;
                        if (windowFunctionType is not { TypeKind: TypeKind.Struct })
                        {
                            Report(DiagnosticDescriptors.FunctionMustBeStruct, windowFunction, windowFunctionType?.ToDisplayString() ?? windowFunction.ToString());
                        }
                        else
                        {
                            aggregateWindow = (TypeName(windowFunctionType), windowFunction.ToString(), TypeName(method.TypeArguments[1]));
                        }
                    }

                    _operators[op].AccumulatorType = TypeName(contents);
                    SetFunctionStruct(op, args, keyed: true);
                    if (windowed.AssignerType == SessionAssignerType && args.Count > 1
                        && _model.GetTypeInfo(args[1].Expression, _cancellation).Type is { } aggregateType
                        && !aggregateType.AllInterfaces.Any(i => i.OriginalDefinition.ToDisplayString() == MergeableAggregateType))
                    {
                        Report(DiagnosticDescriptors.SessionAggregateNotMergeable, invocation, _operators[op].Describe(), aggregateType.ToDisplayString());
                    }

                    break;
                case "Process":
                    function = WindowFunctionKind.Process;
                    INamedTypeSymbol list = _model.Compilation.GetTypeByMetadataName("System.Collections.Generic.List`1")!;
                    contents = list.Construct(recordType);
                    op = AddOperator(OperatorKind.Window, invocation, args, windowed.Keyed, t, TypeName(method.TypeArguments[0]));
                    SetFunctionStruct(op, args, keyed: true);
                    break;
                default:
                    Report(DiagnosticDescriptors.UnsupportedPipelineCode, invocation, FirstLine(invocation), "not a Weir pipeline call");
                    return null;
            }

            ReportUnlessSerializable(contents, "the window contents", invocation);
            CollectFormatters(contents, _formatterRegistrations);
            ITypeSymbol int64 = _model.Compilation.GetSpecialType(SpecialType.System_Int64);
            AddStateSchema(op, "__window-contents", "Map", invocation, int64, contents);
            if (windowed.AssignerType == SessionAssignerType)
            {
                AddStateSchema(op, "__window-starts", "Map", invocation, int64, int64);
            }

            bool timersInState = windowed.AssignerType == SessionAssignerType || windowed.Lateness is not null;
            if (timersInState)
            {
                // Windows without lateness that do not merge derive their timers from their contents.
                AddTimerSchema(op, invocation);
            }

            OperatorDraft draft = _operators[op];
            draft.Window = new WindowModel(
                windowed.AssignerType, windowed.AssignerExpression, windowed.Lateness, function, TypeName(contents), windowed.LateLocal is not null, timersInState,
                aggregateWindow?.Type, aggregateWindow?.Expression, aggregateWindow?.Result);
            SetKey(op, windowed.Keyed.Key!);
            if (windowed.LateLocal is { } lateLocal)
            {
                _locals[lateLocal] = new StreamValue(new[] { new InputModel(op, Partitioning.Forward, 0, Port: 1) }, null);
            }

            return Stream(op);
        }

        private object? InvokeKeyedPair(KeyedPairValue pair, IMethodSymbol method, InvocationExpressionSyntax invocation, IReadOnlyList<ArgumentSyntax> args)
        {
            switch (method.Name)
            {
                case "Window":
                    return pair with { AssignerType = TypeName(method.TypeArguments[0]), AssignerExpression = args.Count > 0 ? args[0].Expression.ToString() : string.Empty };
                case "Between":
                    return pair with { Lower = args.Count > 0 ? args[0].Expression.ToString() : null, Upper = args.Count > 1 ? args[1].Expression.ToString() : null };
                case "Process" or "Apply":
                    break;
                default:
                    Report(DiagnosticDescriptors.UnsupportedPipelineCode, invocation, FirstLine(invocation), "not a Weir pipeline call");
                    return null;
            }

            ITypeSymbol first = method.ContainingType.TypeArguments[1];
            ITypeSymbol second = method.ContainingType.TypeArguments[2];
            OperatorKind kind = pair.Operation switch
            {
                "Connect" => OperatorKind.KeyedCoProcess,
                "Join" => OperatorKind.WindowJoin,
                _ => OperatorKind.IntervalJoin,
            };
            InputModel[] inputs = pair.First.Inputs.Concat(pair.Second.Inputs.Select(i => i with { Side = 1 })).ToArray();
            int op = AddOperator(kind, invocation, args, new StreamValue(inputs, null), TypeName(first), TypeName(method.TypeArguments[0]));
            SetFunctionStruct(op, args, keyed: kind == OperatorKind.KeyedCoProcess);
            SetKey(op, pair.First.Key!);
            OperatorDraft draft = _operators[op];
            FunctionModel? secondSelector = pair.Second.Key!.Selector is { Body: not null } lambda
                ? lambda with { CallTarget = "__Weir_Key2_" + op.ToString(CultureInfo.InvariantCulture) }
                : pair.Second.Key.Selector;
            draft.Join = new JoinModel(TypeName(second), secondSelector, pair.AssignerType, pair.AssignerExpression, pair.Lower, pair.Upper);
            ITypeSymbol int64 = _model.Compilation.GetSpecialType(SpecialType.System_Int64);
            if (kind == OperatorKind.KeyedCoProcess)
            {
                if (args.Count > 1 && _model.GetTypeInfo(args[1].Expression, _cancellation).Type is { } functionType
                    && functionType.AllInterfaces.Any(i => i.OriginalDefinition.ToDisplayString() == TimerFunctionType))
                {
                    draft.HasTimers = true;
                    AddTimerSchema(op, invocation);
                }
            }
            else
            {
                INamedTypeSymbol list = _model.Compilation.GetTypeByMetadataName("System.Collections.Generic.List`1")!;
                foreach ((string name, ITypeSymbol type) in new[] { ("__join-first", first), ("__join-second", second) })
                {
                    ITypeSymbol stored = list.Construct(type);
                    ReportUnlessSerializable(stored, "the joined records", invocation);
                    CollectFormatters(stored, _formatterRegistrations);
                    AddStateSchema(op, name, "Map", invocation, int64, stored);
                }

                AddTimerSchema(op, invocation);
                if (kind == OperatorKind.WindowJoin && pair.AssignerType == SessionAssignerType)
                {
                    Report(DiagnosticDescriptors.SessionWindowJoin, invocation, draft.ExplicitId ?? draft.Describe());
                }
            }

            return Stream(op);
        }

        private void AddTimerSchema(int op, SyntaxNode where)
            => AddStateSchema(op, "__timers", "Map", where, _model.Compilation.GetSpecialType(SpecialType.System_Int64), _model.Compilation.GetSpecialType(SpecialType.System_Byte));

        private void SetKey(int op, KeyInfo key)
        {
            OperatorDraft draft = _operators[op];
            draft.KeyType = key.KeyType;
            draft.KeySelector = key.Selector is { Body: not null } lambda
                ? lambda with { CallTarget = "__Weir_Key_" + op.ToString(CultureInfo.InvariantCulture) }
                : key.Selector;
            draft.KeyHashTemplate = key.HashTemplate;
            draft.KeySchema = key.KeySchema;
        }

        private object? InvokeConnected(ConnectedValue connected, IMethodSymbol method, InvocationExpressionSyntax invocation, IReadOnlyList<ArgumentSyntax> args)
        {
            switch (method.Name)
            {
                case "BroadcastFirst":
                    return connected with { BroadcastFirst = true };
                case "Process":
                    {
                        // Input side 0 is the keyed stream (hash-partitioned), side 1 the broadcast stream.
                        InputModel[] inputs = connected.Keyed.Inputs
                            .Concat(connected.Broadcast.Inputs.Select(i => i with { Side = 1 }))
                            .ToArray();
                        string t = TypeName(method.ContainingType.TypeArguments[1]);
                        int op = AddOperator(OperatorKind.KeyedBroadcastProcess, invocation, args, new StreamValue(inputs, null), t, TypeName(method.TypeArguments[0]));
                        OperatorDraft draft = _operators[op];
                        draft.BroadcastType = TypeName(method.ContainingType.TypeArguments[2]);
                        draft.BroadcastFirst = connected.BroadcastFirst;
                        SetFunctionStruct(op, args, keyed: true, broadcast: true);
                        SetKey(op, connected.Keyed.Key!);
                        return Stream(op);
                    }

                default:
                    Report(DiagnosticDescriptors.UnsupportedPipelineCode, invocation, FirstLine(invocation), "not a Weir pipeline call");
                    return null;
            }
        }

        private static StreamValue Stream(int op) => new(new[] { new InputModel(op, Partitioning.Forward) }, null);

        private int AddOperator(OperatorKind kind, InvocationExpressionSyntax invocation, IReadOnlyList<ArgumentSyntax> args, StreamValue? input, string inType, string outType)
        {
            int index = _operators.Count;
            var draft = new OperatorDraft(index, kind, invocation, inType, outType, input?.Inputs ?? Array.Empty<InputModel>());
            _operators.Add(draft);
            if (kind is OperatorKind.Source or OperatorKind.Sink or OperatorKind.Process or OperatorKind.KeyedProcess or OperatorKind.KeyedBroadcastProcess or OperatorKind.Reduce or OperatorKind.Aggregate or OperatorKind.Window
                or OperatorKind.KeyedCoProcess or OperatorKind.WindowJoin or OperatorKind.IntervalJoin)
            {
                object? id = args.Count > 0 ? _model.GetConstantValue(args[0].Expression, _cancellation).Value : null;
                if (id is string text && text.Length > 0)
                {
                    draft.ExplicitId = text;
                    if (_operators.Take(index).Any(o => o.ExplicitId == text))
                    {
                        Report(DiagnosticDescriptors.DuplicateOperatorId, args[0], text);
                    }
                }
                else
                {
                    Report(DiagnosticDescriptors.OperatorIdNotConstant, args.Count > 0 ? args[0] : invocation, DisplayKind(kind));
                }
            }

            return index;
        }

        private int AddFunctionOperator(OperatorKind kind, StreamValue stream, InvocationExpressionSyntax invocation, IReadOnlyList<ArgumentSyntax> args, IMethodSymbol method, string inType, string outType)
        {
            int op = AddOperator(kind, invocation, args, stream, inType, outType);
            _operators[op].Function = ReadFunction(args, 0, method, kind.ToString(), kind + "_" + op.ToString(CultureInfo.InvariantCulture));
            return op;
        }

        private void SetValue(int op, IReadOnlyList<ArgumentSyntax> args, int argument, string what, string readerOrWriter)
        {
            if (args.Count <= argument)
            {
                return;
            }

            ExpressionSyntax expression = args[argument].Expression;
            OperatorDraft draft = _operators[op];
            draft.ReaderOrWriterType = readerOrWriter;
            draft.ValueType = _model.GetTypeInfo(expression, _cancellation).Type is { } type ? TypeName(type) : null;
            draft.ValueExpression = expression.ToString();
            foreach (IdentifierNameSyntax name in expression.DescendantNodesAndSelf().OfType<IdentifierNameSyntax>())
            {
                ISymbol? symbol = _model.GetSymbolInfo(name, _cancellation).Symbol;
                if (symbol is not null && (SymbolEqualityComparer.Default.Equals(symbol, _builder) || _locals.ContainsKey(symbol)))
                {
                    Report(DiagnosticDescriptors.UnsupportedValue, expression, what, DisplayKind(draft.Kind));
                    break;
                }
            }
        }

        private void SetFunctionStruct(int op, IReadOnlyList<ArgumentSyntax> args, bool keyed, bool broadcast = false)
        {
            if (args.Count < 2)
            {
                return;
            }

            OperatorDraft draft = _operators[op];
            ExpressionSyntax expression = args[1].Expression;
            ITypeSymbol? type = _model.GetTypeInfo(expression, _cancellation).Type;
            SetValue(op, args, 1, "function", string.Empty);
            draft.ReaderOrWriterType = null;
            if (type is null)
            {
                return;
            }

            if (!type.IsValueType || type.TypeKind != TypeKind.Struct)
            {
                Report(DiagnosticDescriptors.FunctionMustBeStruct, expression, type.ToDisplayString());
                return;
            }

            var states = new List<StateFieldModel>();
            foreach (IFieldSymbol field in type.GetMembers().OfType<IFieldSymbol>().Where(f => !f.IsStatic))
            {
                if (ReadBroadcastState(op, field, type, expression, broadcast, states))
                {
                    continue;
                }

                if (field.Type is not INamedTypeSymbol { IsGenericType: true } fieldType
                    || !s_stateKinds.TryGetValue(fieldType.OriginalDefinition.ToDisplayString(), out string? kind))
                {
                    continue;
                }

                AttributeData? attribute = field.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == StateAttribute);
                string name = attribute?.ConstructorArguments.FirstOrDefault().Value as string ?? field.Name.TrimStart('_');
                if (!keyed)
                {
                    Report(DiagnosticDescriptors.KeyedStateOnNonKeyedStream, expression, type.ToDisplayString(), name);
                    continue;
                }

                if (states.Any(s => s.StateName == name))
                {
                    Report(DiagnosticDescriptors.DuplicateStateName, expression, type.ToDisplayString(), name);
                    continue;
                }

                // Everything a state stores is written to checkpoints: its value types must serialize.
                ImmutableArray<ITypeSymbol> stored = kind switch
                {
                    "Reducing" => ImmutableArray.Create(fieldType.TypeArguments[0]),
                    "Aggregating" => ImmutableArray.Create(fieldType.TypeArguments[1]),
                    "Map" => ImmutableArray.Create(fieldType.TypeArguments[0], fieldType.TypeArguments[1]),
                    _ => ImmutableArray.Create(fieldType.TypeArguments[0]),
                };
                ITypeSymbol? unserializable = stored.FirstOrDefault(t => !IsSerializable(t));
                foreach (ITypeSymbol storedType in fieldType.TypeArguments)
                {
                    CollectFormatters(storedType, _formatterRegistrations);
                }

                if (unserializable is not null)
                {
                    Report(DiagnosticDescriptors.StateTypeNotSerializable, expression, unserializable.ToDisplayString(), $"state '{name}' of '{type.ToDisplayString()}'");
                    continue;
                }

                long? ttl = null;
                string update = "OnCreateAndWrite", visibility = "NeverReturnExpired";
                int cleanup = 5;
                foreach (KeyValuePair<string, TypedConstant> argument in attribute?.NamedArguments ?? ImmutableArray<KeyValuePair<string, TypedConstant>>.Empty)
                {
                    switch (argument.Key)
                    {
                        case "TimeToLive" when argument.Value.Value is string text:
                            ttl = ParseDuration(text);
                            if (ttl is null)
                            {
                                Report(DiagnosticDescriptors.InvalidTimeToLive, expression, text, name, type.ToDisplayString());
                            }

                            break;
                        case "TtlUpdate":
                            update = argument.Value.Value is 1 ? "OnReadAndWrite" : "OnCreateAndWrite";
                            break;
                        case "TtlVisibility":
                            visibility = argument.Value.Value is 1 ? "ReturnExpiredIfNotCleanedUp" : "NeverReturnExpired";
                            break;
                        case "TtlCleanupPerRecord" when argument.Value.Value is int perRecord:
                            if (perRecord < 0)
                            {
                                Report(DiagnosticDescriptors.InvalidTimeToLive, expression, $"TtlCleanupPerRecord = {perRecord}", name, type.ToDisplayString());
                            }

                            cleanup = Math.Max(0, perRecord);
                            break;
                    }
                }

                AddStateSchema(op, name, kind, expression, stored.ToArray());
                states.Add(new StateFieldModel(
                    field.Name,
                    name,
                    kind,
                    TypeName(fieldType),
                    fieldType.TypeArguments.Select(TypeName).ToEquatableArray(),
                    ttl,
                    update,
                    visibility,
                    cleanup));
            }

            draft.States = states.ToEquatableArray();
            if (broadcast)
            {
                ReportKeyedStateOnBroadcastSide(type, expression, states);
            }
        }

        /// <summary>
        /// Reads a broadcast state field (<c>ReadOnlyBroadcastState&lt;K, V&gt;</c>) into <paramref name="states"/>
        /// and reports its misuse; returns false when the field is not a broadcast state.
        /// </summary>
        private bool ReadBroadcastState(int op, IFieldSymbol field, ITypeSymbol type, ExpressionSyntax expression, bool broadcast, List<StateFieldModel> states)
        {
            if (field.Type is not INamedTypeSymbol { IsGenericType: true } fieldType)
            {
                return false;
            }

            string definition = fieldType.OriginalDefinition.ToDisplayString();
            if (definition == WritableBroadcastStateType)
            {
                Report(DiagnosticDescriptors.WritableBroadcastStateField, expression, type.ToDisplayString(), field.Name);
                return true;
            }

            if (definition != ReadOnlyBroadcastStateType)
            {
                return false;
            }

            AttributeData? attribute = field.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == BroadcastStateAttribute);
            string name = attribute?.ConstructorArguments.FirstOrDefault().Value as string ?? field.Name.TrimStart('_');
            if (!broadcast)
            {
                Report(DiagnosticDescriptors.BroadcastStateOutsideBroadcastFunction, expression, type.ToDisplayString(), name);
                return true;
            }

            if (states.Any(s => s.StateName == name))
            {
                Report(DiagnosticDescriptors.DuplicateStateName, expression, type.ToDisplayString(), name);
                return true;
            }

            // Broadcast state is snapshotted with the operator, like keyed state: keys and values must serialize.
            ITypeSymbol? unserializable = fieldType.TypeArguments.FirstOrDefault(t => !IsSerializable(t));
            foreach (ITypeSymbol storedType in fieldType.TypeArguments)
            {
                CollectFormatters(storedType, _formatterRegistrations);
            }

            if (unserializable is not null)
            {
                Report(DiagnosticDescriptors.StateTypeNotSerializable, expression, unserializable.ToDisplayString(), $"broadcast state '{name}' of '{type.ToDisplayString()}'");
                return true;
            }

            AddStateSchema(op, name, "Broadcast", expression, fieldType.TypeArguments.ToArray());
            states.Add(new StateFieldModel(field.Name, name, "Broadcast", TypeName(fieldType), fieldType.TypeArguments.Select(TypeName).ToEquatableArray(), null, "OnCreateAndWrite", "NeverReturnExpired", 0));
            return true;
        }

        /// <summary>
        /// Reports keyed state named in the body of the function's ProcessBroadcastElement: a broadcast
        /// record has no key, so such an access would silently hit the last processed key's state.
        /// Helper methods called from there are not followed.
        /// </summary>
        private void ReportKeyedStateOnBroadcastSide(ITypeSymbol type, ExpressionSyntax expression, List<StateFieldModel> states)
        {
            var keyed = new HashSet<string>(states.Where(s => s.Kind != "Broadcast").Select(s => s.FieldName), StringComparer.Ordinal);
            INamedTypeSymbol? contract = type.AllInterfaces.FirstOrDefault(i => i.OriginalDefinition.ToDisplayString() == KeyedBroadcastFunctionType);
            if (keyed.Count == 0 || contract?.GetMembers("ProcessBroadcastElement").FirstOrDefault() is not { } member
                || type.FindImplementationForInterfaceMember(member) is not IMethodSymbol implementation)
            {
                return;
            }

            foreach (SyntaxReference reference in implementation.DeclaringSyntaxReferences)
            {
                SyntaxNode body = reference.GetSyntax(_cancellation);
                if (!_model.Compilation.ContainsSyntaxTree(body.SyntaxTree))
                {
                    continue;
                }

                SemanticModel model = body.SyntaxTree == _model.SyntaxTree ? _model : _model.Compilation.GetSemanticModel(body.SyntaxTree);
                foreach (IdentifierNameSyntax name in body.DescendantNodes().OfType<IdentifierNameSyntax>())
                {
                    if (keyed.Contains(name.Identifier.ValueText)
                        && model.GetSymbolInfo(name, _cancellation).Symbol is IFieldSymbol field
                        && SymbolEqualityComparer.Default.Equals(field.ContainingType, type))
                    {
                        StateFieldModel state = states.First(s => s.FieldName == field.Name);
                        Report(DiagnosticDescriptors.KeyedStateInBroadcastElement, expression, type.ToDisplayString(), state.StateName);
                        return;
                    }
                }
            }
        }

        private FunctionModel? ReadFunction(IReadOnlyList<ArgumentSyntax> args, int argument, IMethodSymbol method, string what, string generatedName)
        {
            if (args.Count <= argument || method.Parameters[argument].Type is not INamedTypeSymbol { DelegateInvokeMethod: { } invoke })
            {
                return null;
            }

            EquatableArray<string> parameterTypes = invoke.Parameters.Select(p => RefPrefix(p.RefKind) + TypeName(p.Type)).ToEquatableArray();
            string returnType = invoke.ReturnsVoid ? "void" : TypeName(invoke.ReturnType);
            ExpressionSyntax expression = args[argument].Expression;
            if (expression is LambdaExpressionSyntax lambda)
            {
                if (lambda.AsyncKeyword != default)
                {
                    Report(DiagnosticDescriptors.UnsupportedFunction, lambda, what);
                    return null;
                }

                DataFlowAnalysis? flow = _model.AnalyzeDataFlow(lambda);
                ISymbol? captured = flow?.Captured.FirstOrDefault(v => !v.DeclaringSyntaxReferences.Any(r => r.SyntaxTree == lambda.SyntaxTree && lambda.Span.Contains(r.Span)));
                if (captured is not null)
                {
                    Report(DiagnosticDescriptors.LambdaCaptures, lambda, what, captured.Name);
                    return null;
                }

                string[] names = lambda switch
                {
                    SimpleLambdaExpressionSyntax simple => new[] { simple.Parameter.Identifier.Text },
                    ParenthesizedLambdaExpressionSyntax parenthesized => parenthesized.ParameterList.Parameters.Select(p => p.Identifier.Text).ToArray(),
                    _ => Array.Empty<string>(),
                };
                bool isExpression = lambda.Body is ExpressionSyntax;
                return new FunctionModel("__Weir_" + generatedName, names.ToEquatableArray(), parameterTypes, returnType, lambda.Body.ToString(), isExpression);
            }

            if (_model.GetSymbolInfo(expression, _cancellation) is { } info
                && (info.Symbol ?? info.CandidateSymbols.FirstOrDefault()) is IMethodSymbol { IsStatic: true }
                && expression is IdentifierNameSyntax or MemberAccessExpressionSyntax or GenericNameSyntax)
            {
                return new FunctionModel(expression.ToString(), EquatableArray<string>.Empty, parameterTypes, returnType, null, false);
            }

            Report(DiagnosticDescriptors.UnsupportedFunction, expression, what);
            return null;
        }

        private int? ConstantParallelism(IReadOnlyList<ArgumentSyntax> args, SyntaxNode invocation)
        {
            object? value = args.Count == 1 ? _model.GetConstantValue(args[0].Expression, _cancellation).Value : null;
            if (value is int p && p >= 1 && p <= MaxParallelismUpperBound)
            {
                return p;
            }

            Report(DiagnosticDescriptors.InvalidParallelism, invocation, args.Count == 1 ? args[0].ToString() : string.Empty, MaxParallelismUpperBound.ToString(CultureInfo.InvariantCulture));
            return null;
        }

        // ---- Stable key hashing -----------------------------------------------------------------

        /// <summary>The C# expression hashing a key (with "{key}" standing for it), or null when the type has no stable hash.</summary>
        private static string? KeyHashTemplate(ITypeSymbol type, string key)
        {
            switch (type.SpecialType)
            {
                case SpecialType.System_String:
                case SpecialType.System_Int64:
                case SpecialType.System_UInt64:
                case SpecialType.System_Int32:
                case SpecialType.System_UInt32:
                case SpecialType.System_Int16:
                case SpecialType.System_UInt16:
                case SpecialType.System_Byte:
                case SpecialType.System_SByte:
                case SpecialType.System_Char:
                case SpecialType.System_Boolean:
                    return $"global::Weir.StableHash.Of({key})";
            }

            if (type is INamedTypeSymbol { TypeKind: TypeKind.Enum, EnumUnderlyingType: { } underlying })
            {
                return $"global::Weir.StableHash.Of(({TypeName(underlying)}){key})";
            }

            if (type.ToDisplayString() == "System.Guid")
            {
                return $"global::Weir.StableHash.Of({key})";
            }

            if (type is INamedTypeSymbol { IsTupleType: true } tuple)
            {
                string? combined = null;
                for (int i = 0; i < tuple.TupleElements.Length; i++)
                {
                    string? part = KeyHashTemplate(tuple.TupleElements[i].Type, $"{key}.Item{i + 1}");
                    if (part is null)
                    {
                        return null;
                    }

                    combined = combined is null ? part : $"global::Weir.StableHash.Combine({combined}, {part})";
                }

                return combined;
            }

            if (type.AllInterfaces.Any(i => i.ToDisplayString() == StableHashableType))
            {
                return $"global::Weir.StableHash.OfStableHashable({key})";
            }

            return null;
        }

        // ---- Graph checks and chain planning ------------------------------------------------------

        private JobParseResult Finish(INamedTypeSymbol type, ClassDeclarationSyntax declaration, MethodDeclarationSyntax method, string jobName, EquatableArray<ParameterModel> parameters)
        {
            // Each missing piece is reported once: a job without a source cannot have a sink, and in a job
            // without a sink every dangling operator would repeat WEIR0102.
            bool hasSource = _operators.Any(o => o.Kind == OperatorKind.Source);
            bool hasSink = _operators.Any(o => o.Kind == OperatorKind.Sink);
            if (!hasSource)
            {
                Report(DiagnosticDescriptors.NoSource, method.Identifier.Parent, jobName);
            }
            else if (!hasSink)
            {
                Report(DiagnosticDescriptors.NoSink, method.Identifier.Parent, jobName);
            }

            var consumers = _operators.Select(_ => new List<int>()).ToArray();
            foreach (OperatorDraft op in _operators)
            {
                foreach (InputModel input in op.Inputs)
                {
                    consumers[input.Producer].Add(op.Index);
                }
            }

            foreach (OperatorDraft op in _operators.Where(o => hasSink && o.Kind != OperatorKind.Sink && consumers[o.Index].Count == 0))
            {
                Report(DiagnosticDescriptors.UnreachableOperator, op.Syntax, op.Describe());
            }

            int limit = _maxParallelism ?? MaxParallelismUpperBound;
            foreach (OperatorDraft op in _operators.Where(o => o.Parallelism > limit))
            {
                Report(DiagnosticDescriptors.InvalidParallelism, op.Syntax, op.Parallelism!.Value.ToString(CultureInfo.InvariantCulture), limit.ToString(CultureInfo.InvariantCulture));
            }

            foreach (OperatorDraft op in _operators.Where(o => o.BroadcastFirst))
            {
                HashSet<int> keyedSide = Upstream(op.Inputs.Where(i => i.Side == 0));
                int? common = Upstream(op.Inputs.Where(i => i.Side == 1)).Where(keyedSide.Contains).Cast<int?>().OrderBy(i => i).FirstOrDefault();
                if (common is int shared)
                {
                    Report(DiagnosticDescriptors.BroadcastFirstDeadlock, op.Syntax, op.Describe(), _operators[shared].Describe());
                }
            }

            foreach (OperatorDraft op in _operators.Where(o => o.Kind is OperatorKind.Window or OperatorKind.WindowJoin or OperatorKind.IntervalJoin))
            {
                // Every input side needs timestamps: an untimed side would hold the watermark back forever.
                bool untimed = op.Inputs.GroupBy(i => i.Side)
                    .Any(side => !Upstream(side).Concat(side.Select(i => i.Producer)).Any(i => _operators[i].Kind == OperatorKind.Timestamps));
                if (untimed)
                {
                    Report(DiagnosticDescriptors.WindowWithoutTimestamps, op.Syntax, op.ExplicitId ?? op.Describe());
                }
            }

            if (_diagnostics.Count > 0)
            {
                return new JobParseResult(null, _diagnostics.Concat(_warnings).ToEquatableArray());
            }

            // Chains: an operator joins its producer's chain when it has that single forward input, is
            // the producer's only consumer and runs at the same parallelism. Everything else is an
            // exchange. Operators are created in topological order, so one pass suffices.
            var chainOf = new int[_operators.Count];
            var chains = new List<List<int>>();
            var edges = new List<EdgeModel>();
            foreach (OperatorDraft op in _operators)
            {
                // A window's late records (port 1) always cross an exchange; only consumers of an
                // operator's main output (port 0) can be fused with it.
                InputModel? single = op.Inputs.Length == 1 ? op.Inputs[0] : null;
                if (single is { Partitioning: Partitioning.Forward, Port: 0 } input
                    && _operators.Count(o => o.Inputs.Any(i => i.Producer == input.Producer && i.Port == 0)) == 1
                    && _operators[input.Producer].Parallelism == op.Parallelism
                    && _operators[input.Producer].Kind != OperatorKind.Sink)
                {
                    chainOf[op.Index] = chainOf[input.Producer];
                    chains[chainOf[op.Index]].Add(op.Index);
                    continue;
                }

                chainOf[op.Index] = chains.Count;
                chains.Add(new List<int> { op.Index });
                foreach (InputModel edgeInput in op.Inputs)
                {
                    edges.Add(new EdgeModel(edges.Count, edgeInput.Producer, chainOf[edgeInput.Producer], op.Index, chainOf[op.Index], edgeInput.Partitioning, edgeInput.Side, edgeInput.Port));
                }
            }

            var chainModels = chains.Select((ops, index) =>
            {
                OperatorDraft head = _operators[ops[0]];
                return new ChainModel(
                    index,
                    ops.ToEquatableArray(),
                    head.Parallelism,
                    ops.Any(o => _operators[o].IsKeyed),
                    head.Kind == OperatorKind.Source,
                    head.Kind == OperatorKind.Source ? head.OutType : head.InType,
                    head.Kind == OperatorKind.KeyedBroadcastProcess ? head.BroadcastType : head.Join?.SecondType,
                    head.BroadcastFirst);
            }).ToEquatableArray();

            StateManifestModel manifest = BuildManifest(jobName);
            var model = new JobModel(
                type.ContainingNamespace.IsGlobalNamespace ? null : type.ContainingNamespace.ToDisplayString(),
                type.Name,
                jobName,
                CollectUsings(declaration, method),
                method.Identifier.Text,
                parameters,
                _defaultParallelism,
                _maxParallelism,
                _operators.Select(o => o.ToModel()).ToEquatableArray(),
                chainModels,
                edges.ToEquatableArray(),
                _formatterRegistrations.ToEquatableArray(),
                manifest,
                _operators.Any(o => o.Kind is OperatorKind.Timestamps or OperatorKind.Window or OperatorKind.WindowJoin or OperatorKind.IntervalJoin || o.HasTimers));
            return new JobParseResult(model, _warnings.ToEquatableArray(), new JobSchemaModel(type.Name, manifest, LocationInfo.From(declaration), SchemaLocations()));
        }

        /// <summary>Every operator that feeds, directly or not, the given inputs.</summary>
        private HashSet<int> Upstream(IEnumerable<InputModel> inputs)
        {
            var seen = new HashSet<int>();
            var pending = new Stack<int>(inputs.Select(i => i.Producer));
            while (pending.Count > 0)
            {
                int producer = pending.Pop();
                if (seen.Add(producer))
                {
                    foreach (InputModel input in _operators[producer].Inputs)
                    {
                        pending.Push(input.Producer);
                    }
                }
            }

            return seen;
        }

        private static EquatableArray<string> CollectUsings(params SyntaxNode[] nodes)
        {
            var usings = new SortedSet<string>(StringComparer.Ordinal);
            foreach (SyntaxNode node in nodes)
            {
                foreach (SyntaxNode ancestor in node.AncestorsAndSelf())
                {
                    SyntaxList<UsingDirectiveSyntax> list = ancestor switch
                    {
                        CompilationUnitSyntax unit => unit.Usings,
                        BaseNamespaceDeclarationSyntax ns => ns.Usings,
                        _ => default,
                    };
                    foreach (UsingDirectiveSyntax directive in list)
                    {
                        if (directive.GlobalKeyword == default)
                        {
                            usings.Add(directive.WithoutTrivia().ToString());
                        }
                    }
                }
            }

            return usings.ToEquatableArray();
        }

        // ---- Helpers ---------------------------------------------------------------------------

        internal static string TypeName(ITypeSymbol type) => type.ToDisplayString(s_typeFormat);

        /// <summary>
        /// Parses a time-to-live such as "250ms", "30s", "10m", "1h" or "7d" into milliseconds; null
        /// when the text is not a positive number followed by one of those units.
        /// </summary>
        internal static long? ParseDuration(string text)
        {
            string trimmed = text.Trim();
            int unitStart = 0;
            while (unitStart < trimmed.Length && (char.IsDigit(trimmed[unitStart]) || trimmed[unitStart] == '.'))
            {
                unitStart++;
            }

            if (unitStart == 0 || !double.TryParse(trimmed.Substring(0, unitStart), System.Globalization.NumberStyles.AllowDecimalPoint, System.Globalization.CultureInfo.InvariantCulture, out double amount))
            {
                return null;
            }

            double? factor = trimmed.Substring(unitStart).Trim() switch
            {
                "ms" => 1,
                "s" => 1000,
                "m" or "min" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                _ => null,
            };
            double milliseconds = amount * (factor ?? 0);
            return factor is null || milliseconds < 1 || milliseconds > long.MaxValue / 2 ? null : (long)milliseconds;
        }

        /// <summary>
        /// Whether MemoryPack can serialize a type without reflection: primitives, strings and other
        /// built-in formatters, enums, unmanaged structs (copied as bytes), [MemoryPackable] types,
        /// and arrays, lists, dictionaries, tuples and nullables of those.
        /// </summary>
        internal static bool IsSerializable(ITypeSymbol type)
        {
            switch (type.SpecialType)
            {
                case SpecialType.System_Boolean:
                case SpecialType.System_Char:
                case SpecialType.System_SByte:
                case SpecialType.System_Byte:
                case SpecialType.System_Int16:
                case SpecialType.System_UInt16:
                case SpecialType.System_Int32:
                case SpecialType.System_UInt32:
                case SpecialType.System_Int64:
                case SpecialType.System_UInt64:
                case SpecialType.System_Single:
                case SpecialType.System_Double:
                case SpecialType.System_Decimal:
                case SpecialType.System_String:
                case SpecialType.System_DateTime:
                    return true;
            }

            if (type.TypeKind == TypeKind.Enum || type.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == MemoryPackableAttribute))
            {
                return true;
            }

            if (type is IArrayTypeSymbol array)
            {
                return IsSerializable(array.ElementType);
            }

            if (type is INamedTypeSymbol named)
            {
                string definition = named.OriginalDefinition.ToDisplayString();
                if (named.IsTupleType || definition is "System.Nullable<T>" or "System.Collections.Generic.List<T>" or "System.Collections.Generic.Dictionary<TKey, TValue>"
                    or "System.Collections.Generic.HashSet<T>" or "System.Collections.Generic.KeyValuePair<TKey, TValue>")
                {
                    return named.TypeArguments.All(IsSerializable) && (!named.IsTupleType || named.TupleElements.All(e => IsSerializable(e.Type)));
                }

                if (definition is "System.Guid" or "System.DateTimeOffset" or "System.TimeSpan")
                {
                    return true;
                }

                // Unmanaged structs (no references) are copied as bytes.
                return named.IsUnmanagedType && named.TypeKind == TypeKind.Struct;
            }

            return false;
        }

        /// <summary>
        /// Adds the MemoryPack registration statements a serializable type needs under Native AOT: one per
        /// generic type inside it that MemoryPack would otherwise construct by reflection. Unmanaged types
        /// need none (MemoryPack copies their bytes), nor do types MemoryPack knows or [MemoryPackable] types.
        /// </summary>
        internal static void CollectFormatters(ITypeSymbol type, ISet<string> registrations)
        {
            if (type is IArrayTypeSymbol array)
            {
                CollectFormatters(array.ElementType, registrations);
                return;
            }

            if (type is not INamedTypeSymbol named || !named.IsGenericType || named.IsUnmanagedType)
            {
                return;
            }

            ImmutableArray<ITypeSymbol> arguments = named.IsTupleType
                ? named.TupleElements.Select(e => e.Type).ToImmutableArray()
                : named.TypeArguments;
            foreach (ITypeSymbol argument in arguments)
            {
                CollectFormatters(argument, registrations);
            }

            string self = TypeName(named);
            string[] names = arguments.Select(TypeName).ToArray();
            string all = string.Join(", ", names);
            const string Provider = "global::MemoryPack.MemoryPackFormatterProvider";
            string? register = named.OriginalDefinition.ToDisplayString() switch
            {
                _ when named.IsTupleType && names.Length <= 7 => $"Register(new global::MemoryPack.Formatters.ValueTupleFormatter<{all}>())",
                "System.Collections.Generic.List<T>" => $"RegisterCollection<{self}, {all}>()",
                "System.Collections.Generic.HashSet<T>" => $"RegisterSet<{self}, {all}>()",
                "System.Collections.Generic.Dictionary<TKey, TValue>" => $"RegisterDictionary<{self}, {all}>()",
                "System.Collections.Generic.KeyValuePair<TKey, TValue>" => $"Register(new global::MemoryPack.Formatters.KeyValuePairFormatter<{all}>())",
                "System.Nullable<T>" => $"Register(new global::MemoryPack.Formatters.NullableFormatter<{all}>())",
                _ => null,
            };
            if (register is not null)
            {
                registrations.Add($"if (!{Provider}.IsRegistered<{self}>()) {Provider}.{register};");
            }
        }

        private static string RefPrefix(RefKind kind) => kind switch
        {
            RefKind.Ref => "ref ",
            RefKind.In => "in ",
            RefKind.Out => "out ",
            _ => string.Empty,
        };

        private static string DisplayKind(OperatorKind kind) => kind switch
        {
            OperatorKind.KeyedProcess or OperatorKind.KeyedBroadcastProcess => "Process",
            OperatorKind.Timestamps => "AssignTimestampsAndWatermarks",
            _ => kind.ToString(),
        };

        private static string FirstLine(SyntaxNode node)
        {
            string text = node.ToString();
            int newline = text.IndexOf('\n');
            return (newline < 0 ? text : text.Substring(0, newline)).Trim();
        }

        private void Report(DiagnosticDescriptor descriptor, SyntaxNode? node, params string[] arguments)
            => _diagnostics.Add(DiagnosticInfo.Create(descriptor, node, arguments));

        private sealed class BuilderValue
        {
            public static readonly BuilderValue Instance = new();
        }

        private sealed record KeyInfo(string KeyType, FunctionModel? Selector, string? HashTemplate, TypeSchemaModel KeySchema);

        private sealed record StreamValue(InputModel[] Inputs, KeyInfo? Key);

        private sealed record SinkValue(int Operator);

        /// <summary>A keyed stream connected with a broadcast stream, before its Process call.</summary>
        private sealed record ConnectedValue(StreamValue Keyed, StreamValue Broadcast, bool BroadcastFirst);

        /// <summary>Two keyed streams connected or joined, before the call that makes their operator.</summary>
        private sealed record KeyedPairValue(string Operation, StreamValue First, StreamValue Second, string SecondType, string? AssignerType, string? AssignerExpression, string? Lower, string? Upper);

        /// <summary>A keyed stream grouped into windows, before its Reduce, Aggregate or Process call.</summary>
        /// <summary>
        /// Whether <paramref name="expression"/> is a zero <see cref="System.TimeSpan"/> as written:
        /// <c>TimeSpan.Zero</c>, <c>default</c>, or a <c>TimeSpan.From*</c> call with a constant 0.
        /// </summary>
        private bool IsZeroDuration(ExpressionSyntax expression)
        {
            if (expression is LiteralExpressionSyntax { RawKind: (int)SyntaxKind.DefaultLiteralExpression } or DefaultExpressionSyntax)
            {
                return true;
            }

            ISymbol? symbol = _model.GetSymbolInfo(expression, _cancellation).Symbol;
            if (symbol is not { ContainingType: { Name: "TimeSpan", ContainingNamespace: { Name: "System", ContainingNamespace.IsGlobalNamespace: true } } })
            {
                return false;
            }

            if (symbol is IFieldSymbol { Name: "Zero" })
            {
                return true;
            }

            return symbol is IMethodSymbol { IsStatic: true } method
                && method.Name.StartsWith("From", StringComparison.Ordinal)
                && expression is InvocationExpressionSyntax { ArgumentList.Arguments: { Count: 1 } arguments }
                && _model.GetConstantValue(arguments[0].Expression, _cancellation) is { HasValue: true, Value: { } value }
                && Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture) == 0;
        }

        private sealed record WindowedValue(StreamValue Keyed, string AssignerType, string AssignerExpression, string? Lateness, ISymbol? LateLocal);

        /// <summary>An operator while the pipeline is being read (mutable; holds syntax for diagnostics only).</summary>
        private sealed class OperatorDraft
        {
            public OperatorDraft(int index, OperatorKind kind, SyntaxNode syntax, string inType, string outType, InputModel[] inputs)
            {
                Index = index;
                Kind = kind;
                Syntax = syntax;
                InType = inType;
                OutType = outType;
                Inputs = inputs;
            }

            public int Index { get; }

            public OperatorKind Kind { get; }

            public SyntaxNode Syntax { get; }

            public string InType { get; }

            public string OutType { get; }

            public InputModel[] Inputs { get; }

            public string? ExplicitId { get; set; }

            public int? Parallelism { get; set; }

            public FunctionModel? Function { get; set; }

            public string? ValueExpression { get; set; }

            public string? ValueType { get; set; }

            public string? ReaderOrWriterType { get; set; }

            public string? KeyType { get; set; }

            public FunctionModel? KeySelector { get; set; }

            public string? KeyHashTemplate { get; set; }

            public string? AccumulatorType { get; set; }

            public EquatableArray<StateFieldModel> States { get; set; } = EquatableArray<StateFieldModel>.Empty;

            public TypeSchemaModel? KeySchema { get; set; }

            /// <summary>The schemas of the operator's states, and where each is declared (for diagnostics only).</summary>
            public List<(StateSchemaModel Schema, SyntaxNode Where)> StateSchemas { get; } = new();

            public string? BroadcastType { get; set; }

            public bool BroadcastFirst { get; set; }

            public WindowModel? Window { get; set; }

            public bool HasTimers { get; set; }

            public string? WatermarkGeneratorType { get; set; }

            public JoinModel? Join { get; set; }

            public bool IsKeyed => Kind is OperatorKind.KeyedProcess or OperatorKind.KeyedBroadcastProcess or OperatorKind.Reduce or OperatorKind.Aggregate or OperatorKind.Window
                or OperatorKind.KeyedCoProcess or OperatorKind.WindowJoin or OperatorKind.IntervalJoin;

            public string DisplayName => ExplicitId ?? Kind.ToString().ToLowerInvariant() + "-" + Index.ToString(CultureInfo.InvariantCulture);

            public string Describe() => ExplicitId is null ? $"{DisplayKind(Kind)} #{Index}" : $"{DisplayKind(Kind)} '{ExplicitId}'";

            public OperatorModel ToModel() => new(
                Index, Kind, ExplicitId, DisplayName, InType, OutType, Inputs.ToEquatableArray(), Parallelism, Function,
                ValueExpression, ValueType, ReaderOrWriterType, KeyType, KeySelector, KeyHashTemplate, AccumulatorType, States, BroadcastType, BroadcastFirst, Window, HasTimers, WatermarkGeneratorType, Join);
        }
    }
}
