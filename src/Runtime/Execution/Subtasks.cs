using System;
using Weir.CompilerServices;
using Weir.Connectors;

namespace Weir.Execution
{
    /// <summary>One parallel instance of a chain, run on its own thread.</summary>
    internal abstract class Subtask
    {
        private protected Subtask(SubtaskContext context) => Context = context;

        public SubtaskContext Context { get; }

        /// <summary>Records that entered the chain.</summary>
        public long RecordsIn { get; private protected set; }

        /// <summary>Runs until the input ends (returns true) or the job aborts (returns false); throws on failure.</summary>
        public abstract bool Run();
    }

    /// <summary>
    /// The loop of a chain that starts at a source: read a batch, push it through the fused body.
    /// Generic over the reader and the body, so the JIT specializes the whole loop.
    /// </summary>
    internal sealed class SourceSubtask<T, TReader, TBody> : Subtask
        where TReader : ISourceReader<T>
        where TBody : struct, IChainBody<T>
    {
        private readonly ISource<T, TReader> _source;
        private readonly string _sourceId;
        private readonly Func<SubtaskContext, TBody> _createBody;

        public SourceSubtask(SubtaskContext context, ISource<T, TReader> source, string sourceId, Func<SubtaskContext, TBody> createBody)
            : base(context)
        {
            _source = source;
            _sourceId = sourceId;
            _createBody = createBody;
        }

        public override bool Run()
        {
            TBody body = _createBody(Context);
            try
            {
                using TReader reader = _source.CreateReader(Context.SourceContext(_sourceId));
                var buffer = new T[ExecutionDefaults.SourceBatchSize];
                long records = 0;
                while (!Context.StopToken.IsCancellationRequested)
                {
                    int count;
                    try
                    {
                        count = reader.Read(buffer);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        throw new OperatorFailedException(Context.Chain.Operators[0], Context.SubtaskIndex, Context.Parallelism, "(reading input)", ex);
                    }

                    if (count > 0)
                    {
                        records += count;
                        body.ProcessBatch(new ReadOnlySpan<T>(buffer, 0, count));
                    }
                    else if (count < 0)
                    {
                        break;
                    }
                    else
                    {
                        body.Flush();
                    }
                }

                RecordsIn = records;
                if (Context.AbortToken.IsCancellationRequested)
                {
                    // Aborted, not stopped: end without signalling end of input, so nothing downstream commits.
                    return false;
                }

                body.EndOfInput();
                return true;
            }
            finally
            {
                body.Close();
                Context.ReleaseResources();
            }
        }
    }

    /// <summary>The loop of a chain fed by exchanges: take a batch from the gate, push it through the body.</summary>
    internal sealed class ExchangeSubtask<T, TBody> : Subtask
        where TBody : struct, IChainBody<T>
    {
        private readonly InputGate<T> _gate;
        private readonly Func<SubtaskContext, TBody> _createBody;

        public ExchangeSubtask(SubtaskContext context, InputGate<T> gate, Func<SubtaskContext, TBody> createBody)
            : base(context)
        {
            _gate = gate;
            _createBody = createBody;
        }

        public override bool Run()
        {
            TBody body = _createBody(Context);
            try
            {
                int open = _gate.ChannelCount;
                long records = 0;
                while (open > 0)
                {
                    Batch<T>? batch = _gate.TryTake();
                    if (batch is null)
                    {
                        // Going idle: push what this chain holds downstream before blocking, so output
                        // latency is bounded by input arrival, not by batch size.
                        body.Flush();
                        batch = _gate.Take();
                        if (batch is null)
                        {
                            return false;
                        }
                    }

                    if (batch.Kind == BatchKind.Data)
                    {
                        records += batch.Count;
                        body.ProcessBatch(batch.Records);
                    }
                    else
                    {
                        open--;
                    }

                    _gate.Recycle(batch);
                }

                RecordsIn = records;
                body.EndOfInput();
                return true;
            }
            finally
            {
                body.Close();
                Context.ReleaseResources();
            }
        }
    }

    /// <summary>Sizes used by the executor.</summary>
    public static class ExecutionDefaults
    {
        /// <summary>Records a source reads per call.</summary>
        public const int SourceBatchSize = 1024;

        /// <summary>Records per exchange batch.</summary>
        public const int ExchangeBatchSize = 1024;

        /// <summary>Batches an input gate holds before senders block.</summary>
        public const int GateCapacity = 16;
    }
}
