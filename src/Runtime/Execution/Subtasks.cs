using System;
using System.Threading;
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
            }
        }
    }

    /// <summary>
    /// The loop of a chain with two inputs (a keyed input 0 and a broadcast input 1): take a batch from
    /// whichever gate has one and push it through the matching batch method of the body. The inputs
    /// are not ordered with respect to each other (as in Flink); when both have batches waiting the
    /// loop alternates, starting with the broadcast input so a rule update never waits behind a run
    /// of keyed batches, and neither input can starve the other. With <c>broadcastFirst</c> it reads
    /// only input 1 until that input has ended (Flink's input selection), for bounded rule sets.
    /// Both gates signal one shared event, so an idle subtask blocks on both at once.
    /// </summary>
    internal sealed class TwoInputSubtask<T1, T2, TBody> : Subtask
        where TBody : struct, ITwoInputChainBody<T1, T2>
    {
        private static readonly TimeSpan s_idleWait = TimeSpan.FromMilliseconds(50);

        private readonly InputGate<T1> _gate1;
        private readonly InputGate<T2> _gate2;
        private readonly bool _broadcastFirst;
        private readonly Func<SubtaskContext, TBody> _createBody;
        private readonly ManualResetEventSlim _available = new(false);

        public TwoInputSubtask(SubtaskContext context, InputGate<T1> gate1, InputGate<T2> gate2, bool broadcastFirst, Func<SubtaskContext, TBody> createBody)
            : base(context)
        {
            _gate1 = gate1;
            _gate2 = gate2;
            _broadcastFirst = broadcastFirst;
            _createBody = createBody;
            gate1.Available = _available;
            gate2.Available = _available;
        }

        public override bool Run()
        {
            TBody body = _createBody(Context);
            try
            {
                int open1 = _gate1.ChannelCount;
                int open2 = _gate2.ChannelCount;
                long records = 0;
                bool broadcastTurn = true;
                while (open1 > 0 || open2 > 0)
                {
                    // The input allowed to go first this round: input 1 while broadcast-first reading
                    // is in force, else the one whose turn it is.
                    bool onlyBroadcast = _broadcastFirst && open2 > 0;
                    bool tryBroadcast = open2 > 0 && (broadcastTurn || onlyBroadcast || open1 == 0);
                    if (tryBroadcast && _gate2.TryTake() is { } batch2)
                    {
                        records += Consume(ref body, batch2, ref open2);
                        broadcastTurn = false;
                        continue;
                    }

                    if (!onlyBroadcast && open1 > 0 && _gate1.TryTake() is { } batch1)
                    {
                        records += Consume(ref body, batch1, ref open1);
                        broadcastTurn = true;
                        continue;
                    }

                    if (!tryBroadcast && open2 > 0 && _gate2.TryTake() is { } late2)
                    {
                        records += Consume(ref body, late2, ref open2);
                        continue;
                    }

                    // Going idle: push what this chain holds downstream before blocking (see
                    // ExchangeSubtask), then wait until either gate receives a batch. The event is
                    // reset before the gates are checked again, so a batch sent in between sets it.
                    body.Flush();
                    _available.Reset();
                    if ((open2 > 0 && _gate2.HasBatches) || (!onlyBroadcast && open1 > 0 && _gate1.HasBatches))
                    {
                        continue;
                    }

                    while (!_available.Wait(s_idleWait))
                    {
                        if (Context.AbortToken.IsCancellationRequested)
                        {
                            return false;
                        }
                    }
                }

                RecordsIn = records;
                if (Context.AbortToken.IsCancellationRequested)
                {
                    return false;
                }

                body.EndOfInput();
                return true;
            }
            finally
            {
                // The event is not disposed: a sender may still set it after handing over the last
                // end-of-input marker, and without a wait handle it holds no OS resource.
                body.Close();
            }
        }

        private long Consume(ref TBody body, Batch<T1> batch, ref int open)
        {
            int count = 0;
            if (batch.Kind == BatchKind.Data)
            {
                count = batch.Count;
                body.ProcessBatch1(batch.Records);
            }
            else
            {
                open--;
            }

            _gate1.Recycle(batch);
            return count;
        }

        private long Consume(ref TBody body, Batch<T2> batch, ref int open)
        {
            int count = 0;
            if (batch.Kind == BatchKind.Data)
            {
                count = batch.Count;
                body.ProcessBatch2(batch.Records);
            }
            else
            {
                open--;
            }

            _gate2.Recycle(batch);
            return count;
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
