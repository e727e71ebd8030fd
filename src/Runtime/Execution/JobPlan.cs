using System;
using System.Collections.Generic;
using System.Threading;
using Weir.CompilerServices;
using Weir.Connectors;

namespace Weir.Execution
{
    /// <summary>
    /// The runnable form of a job, built by generated code: its chains (vertices), the exchange edges
    /// between them and the factories of their fused bodies. The executor decides parallelism and
    /// wiring at run time from it.
    /// </summary>
    public sealed class JobPlan
    {
        private readonly List<ChainVertex> _chains = new();
        private readonly List<ExchangeEdge> _edges = new();

        /// <summary>Creates an empty plan.</summary>
        /// <param name="jobName">The job's name.</param>
        /// <param name="defaultParallelism">The parallelism declared in the pipeline (overridden by the command line).</param>
        /// <param name="maxParallelism">The max parallelism declared in the pipeline, or null for the default.</param>
        public JobPlan(string jobName, int defaultParallelism, int? maxParallelism)
        {
            JobName = jobName;
            DefaultParallelism = defaultParallelism;
            MaxParallelism = maxParallelism;
        }

        /// <summary>The job's name.</summary>
        public string JobName { get; }

        /// <summary>The pipeline's default parallelism.</summary>
        public int DefaultParallelism { get; }

        /// <summary>The pipeline's max parallelism, if set.</summary>
        public int? MaxParallelism { get; }

        /// <summary>The job's state schema (generated), recorded in checkpoints and compared on restore; null for a hand-built plan.</summary>
        public State.Schema.StateManifest? StateManifest { get; set; }

        /// <summary>The chains, by index.</summary>
        public IReadOnlyList<ChainVertex> Chains => _chains;

        /// <summary>The exchange edges, by index.</summary>
        public IReadOnlyList<ExchangeEdge> Edges => _edges;

        /// <summary>Adds a chain that starts at a source.</summary>
        public int AddSourceChain<T, TReader, TBody>(ChainInfo info, string sourceId, ISource<T, TReader> source, Func<SubtaskContext, TBody> createBody)
            where TReader : ISourceReader<T>
            where TBody : struct, IChainBody<T>
        {
            CheckIndex(info);
            _chains.Add(new SourceVertex<T, TReader, TBody>(info, sourceId, source, createBody));
            return info.Index;
        }

        /// <summary>Adds a chain fed by exchanges.</summary>
        public int AddChain<T, TBody>(ChainInfo info, Func<SubtaskContext, TBody> createBody)
            where TBody : struct, IChainBody<T>
        {
            CheckIndex(info);
            _chains.Add(new ExchangeVertex<T, TBody>(info, createBody));
            return info.Index;
        }

        /// <summary>
        /// Adds a chain whose head operator has two inputs: a keyed input (records of type
        /// <typeparamref name="T1"/>, input 0) and a broadcast input (<typeparamref name="T2"/>, input 1).
        /// </summary>
        /// <param name="info">The chain.</param>
        /// <param name="broadcastFirst">Read input 1 to its end before taking anything from input 0.</param>
        /// <param name="createBody">Creates the chain body of one subtask.</param>
        public int AddTwoInputChain<T1, T2, TBody>(ChainInfo info, bool broadcastFirst, Func<SubtaskContext, TBody> createBody)
            where TBody : struct, ITwoInputChainBody<T1, T2>
        {
            CheckIndex(info);
            _chains.Add(new TwoInputVertex<T1, T2, TBody>(info, broadcastFirst, createBody));
            return info.Index;
        }

        /// <summary>Adds an exchange edge into input 0 of a chain; returns its index (which generated bodies use to find their output).</summary>
        public int Connect(int fromChain, int toChain, ExchangeKind kind) => Connect(fromChain, toChain, kind, 0);

        /// <summary>Adds an exchange edge into input <paramref name="input"/> of a chain; returns its index.</summary>
        public int Connect(int fromChain, int toChain, ExchangeKind kind, int input)
        {
            if ((uint)fromChain >= (uint)_chains.Count || (uint)toChain >= (uint)_chains.Count)
            {
                throw new ArgumentException($"An edge connects chains {fromChain} and {toChain}, but the plan has {_chains.Count} chains.");
            }

            if (_chains[toChain] is not ExchangeVertex target)
            {
                throw new ArgumentException($"Chain {toChain} starts at a source and cannot receive records.");
            }

            if ((uint)input >= (uint)target.InputCount)
            {
                throw new ArgumentException($"An edge enters input {input} of chain {toChain}, which has {target.InputCount} input(s).");
            }

            _edges.Add(new ExchangeEdge(_edges.Count, fromChain, toChain, kind, input));
            return _edges.Count - 1;
        }

        private void CheckIndex(ChainInfo info)
        {
            if (info.Index != _chains.Count)
            {
                throw new ArgumentException($"Chain '{info.Name}' has index {info.Index}, but it is chain number {_chains.Count} of the plan.");
            }
        }
    }

    /// <summary>An exchange between two chains, into input <paramref name="Input"/> of the receiving chain (0 unless it has two inputs).</summary>
    public sealed record ExchangeEdge(int Index, int From, int To, ExchangeKind Kind, int Input = 0);

    /// <summary>A chain of the plan: knows its record type, so it can create typed gates, writers and subtasks.</summary>
    public abstract class ChainVertex
    {
        private protected ChainVertex(ChainInfo info) => Info = info;

        /// <summary>The chain.</summary>
        public ChainInfo Info { get; }

        /// <summary>Creates one subtask; <paramref name="gates"/> holds one gate per input (null for a source chain).</summary>
        internal abstract Subtask CreateSubtask(SubtaskContext context, InputGate[]? gates);
    }

    internal abstract class ExchangeVertex : ChainVertex
    {
        private protected ExchangeVertex(ChainInfo info)
            : base(info)
        {
        }

        /// <summary>Number of typed inputs (1, or 2 for a keyed stream connected with a broadcast stream).</summary>
        internal virtual int InputCount => 1;

        internal abstract InputGate CreateGate(int input, int capacity, int batchSize, CancellationToken abort);

        internal abstract object CreateWriter(int input, InputGate[] targets, ExchangeKind kind, int channel, int maxParallelism);

        /// <summary>Creates this chain's single subtask to run on its producer's thread, and the writer that feeds it.</summary>
        internal abstract (object Writer, IDisposable Closer) CreateDirect(SubtaskContext context, int batchSize);
    }

    internal sealed class SourceVertex<T, TReader, TBody> : ChainVertex
        where TReader : ISourceReader<T>
        where TBody : struct, IChainBody<T>
    {
        private readonly string _sourceId;
        private readonly ISource<T, TReader> _source;
        private readonly Func<SubtaskContext, TBody> _createBody;

        public SourceVertex(ChainInfo info, string sourceId, ISource<T, TReader> source, Func<SubtaskContext, TBody> createBody)
            : base(info)
        {
            _sourceId = sourceId;
            _source = source;
            _createBody = createBody;
        }

        internal override Subtask CreateSubtask(SubtaskContext context, InputGate[]? gates)
            => new SourceSubtask<T, TReader, TBody>(context, _source, _sourceId, _createBody);
    }

    internal sealed class ExchangeVertex<T, TBody> : ExchangeVertex
        where TBody : struct, IChainBody<T>
    {
        private readonly Func<SubtaskContext, TBody> _createBody;

        public ExchangeVertex(ChainInfo info, Func<SubtaskContext, TBody> createBody)
            : base(info)
            => _createBody = createBody;

        internal override InputGate CreateGate(int input, int capacity, int batchSize, CancellationToken abort)
            => new InputGate<T>(capacity, batchSize, abort);

        internal override object CreateWriter(int input, InputGate[] targets, ExchangeKind kind, int channel, int maxParallelism)
            => new ExchangeWriter<T>(Array.ConvertAll(targets, g => (InputGate<T>)g), kind, channel, maxParallelism);

        internal override Subtask CreateSubtask(SubtaskContext context, InputGate[]? gates)
            => new ExchangeSubtask<T, TBody>(context, (InputGate<T>)gates![0], _createBody);

        internal override (object Writer, IDisposable Closer) CreateDirect(SubtaskContext context, int batchSize)
        {
            var consumer = new DirectConsumer(_createBody(context), context);
            context.RestoreState();
            return (new ExchangeWriter<T>(consumer, batchSize), consumer);
        }

        private sealed class DirectConsumer : IDirectConsumer<T>, IDisposable
        {
            private readonly SubtaskContext _context;
            private TBody _body;
            private bool _closed;

            public DirectConsumer(TBody body, SubtaskContext context)
            {
                _body = body;
                _context = context;
            }

            public void Consume(ReadOnlySpan<T> records, ReadOnlySpan<long> timestamps) => _body.ProcessBatch(records, timestamps);

            public void Watermark(long watermark) => _body.OnWatermark(watermark);

            public void WatermarkStatus(bool idle) => _body.OnWatermarkStatus(idle);

            public long ProcessingTime(long now) => _body.OnProcessingTime(now);

            public void Flush() => _body.Flush();

            public void EndOfInput() => _body.EndOfInput();

            // A single input: the barrier is aligned as it arrives.
            public void Barrier(long checkpointId) => _context.Checkpointer!.Perform(checkpointId, TimeSpan.Zero);

            public void CancelBarrier(long checkpointId) => _context.Checkpointer!.ForwardCancellation(checkpointId);

            public void Close()
            {
                if (!_closed)
                {
                    _closed = true;
                    try
                    {
                        _body.Close();
                    }
                    finally
                    {
                        _context.ReleaseResources();
                    }
                }
            }

            public void Dispose() => Close();
        }
    }

    /// <summary>A chain with a keyed input (0) and a broadcast input (1) of different record types.</summary>
    internal sealed class TwoInputVertex<T1, T2, TBody> : ExchangeVertex
        where TBody : struct, ITwoInputChainBody<T1, T2>
    {
        private readonly bool _broadcastFirst;
        private readonly Func<SubtaskContext, TBody> _createBody;

        public TwoInputVertex(ChainInfo info, bool broadcastFirst, Func<SubtaskContext, TBody> createBody)
            : base(info)
        {
            _broadcastFirst = broadcastFirst;
            _createBody = createBody;
        }

        internal override int InputCount => 2;

        internal override InputGate CreateGate(int input, int capacity, int batchSize, CancellationToken abort) => input == 0
            ? new InputGate<T1>(capacity, batchSize, abort)
            : new InputGate<T2>(capacity, batchSize, abort);

        internal override object CreateWriter(int input, InputGate[] targets, ExchangeKind kind, int channel, int maxParallelism) => input == 0
            ? new ExchangeWriter<T1>(Array.ConvertAll(targets, g => (InputGate<T1>)g), kind, channel, maxParallelism)
            : new ExchangeWriter<T2>(Array.ConvertAll(targets, g => (InputGate<T2>)g), kind, channel, maxParallelism);

        internal override Subtask CreateSubtask(SubtaskContext context, InputGate[]? gates)
            => new TwoInputSubtask<T1, T2, TBody>(context, (InputGate<T1>)gates![0], (InputGate<T2>)gates[1], _broadcastFirst, _createBody);

        internal override (object Writer, IDisposable Closer) CreateDirect(SubtaskContext context, int batchSize)
            => throw new InvalidOperationException($"Chain '{Info.Name}' has two inputs and cannot run on a producer's thread.");
    }
}
