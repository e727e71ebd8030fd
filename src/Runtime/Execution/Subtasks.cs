using System;
using System.Threading;
using Weir.Checkpointing.Subtasks;
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

        /// <summary>The mail of this subtask's thread; null when the job runs without checkpoints.</summary>
        private protected SubtaskMailbox? Mailbox => Context.Checkpointer?.Mailbox;

        /// <summary>
        /// A control marker taken from an input: an end of input closes its channel; barriers and
        /// cancellations go to the barrier handler (they only travel when the job checkpoints).
        /// </summary>
        private protected static void HandleMarker(BatchKind kind, int channel, long checkpointId, ref int open, BarrierHandler? barriers)
        {
            switch (kind)
            {
                case BatchKind.Watermark:
                case BatchKind.WatermarkStatus:
                    throw new InvalidOperationException("Watermark markers are handled by the subtask's watermark valve.");
                case BatchKind.EndOfInput:
                    open--;
                    barriers?.OnEndOfInput(channel);
                    break;
                case BatchKind.Barrier:
                    barriers!.OnBarrier(channel, checkpointId);
                    break;
                case BatchKind.CancelBarrier:
                    barriers!.OnCancelBarrier(checkpointId);
                    break;
            }
        }

        /// <summary>
        /// After end of input: with checkpoints, serve the thread's mail until the final checkpoint
        /// has completed (its completion commits the sinks' last output). False when aborted.
        /// </summary>
        private protected bool Finish()
        {
            if (Context.Checkpointer is not { } checkpointer)
            {
                return true;
            }

            return checkpointer.Mailbox.FinishAndServe(checkpointer.Driver, Context.AbortToken);
        }
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
            // Before the body: its timestamp assigner (if any) keeps its watermarks per split of this source.
            var splits = new SourceSplits();
            Context.SourceSplits = splits;
            TBody body = _createBody(Context);
            try
            {
                using TReader reader = _source.CreateReader(Context.SourceContext(_sourceId));
                Context.RestoreState();
                SubtaskMailbox? mailbox = Mailbox;
                var buffer = new T[ExecutionDefaults.SourceBatchSize];

                // A source's records carry no timestamp until an assigner gives them one.
                var timestamps = new long[ExecutionDefaults.SourceBatchSize];
                Array.Fill(timestamps, Time.Watermarks.NoTimestamp);
                var processingTime = new ProcessingTimeDriver(Context.Clock);
                long records = 0;
                bool ended = false;
                while (!Context.StopToken.IsCancellationRequested)
                {
                    if (mailbox is not null && mailbox.HasMail)
                    {
                        // Between batches: a trigger injects the barrier here, after every record read so far.
                        mailbox.Drain();
                    }

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
                        Context.Progress?.EnterBatch(Context.ProgressSlot);
                        body.ProcessBatch(new ReadOnlySpan<T>(buffer, 0, count), new ReadOnlySpan<long>(timestamps, 0, count));
                        Context.Progress?.LeaveBatch(Context.ProgressSlot);
                        splits.AfterBatch();
                    }
                    else if (count < 0)
                    {
                        ended = true;
                        break;
                    }
                    else
                    {
                        splits.AfterBatch();
                        body.Flush();
                    }

                    processingTime.Advance(ref body);
                }

                RecordsIn = records;
                if (Context.AbortToken.IsCancellationRequested)
                {
                    // Aborted, not stopped: end without signalling end of input, so nothing downstream commits.
                    return false;
                }

                if (ended)
                {
                    // The input is over: event time ends, so every window and event-time timer fires. A
                    // stopped source sends no such watermark: its windows stay in state for the next run.
                    body.OnWatermark(Time.Watermarks.EndOfTime);
                }

                body.EndOfInput();
                return Finish();
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
                Context.RestoreState();
                SubtaskMailbox? mailbox = Mailbox;
                var input = new AlignedGate<T>(_gate);
                BarrierHandler? barriers = null;
                if (Context.Checkpointer is { } checkpointer)
                {
                    mailbox!.Wake = _gate.Wake;
                    barriers = new BarrierHandler(_gate.ChannelCount, checkpointer.Driver.Mode, checkpointer, input.Block, input.UnblockAll);
                }

                int open = _gate.ChannelCount;
                var valve = new Time.WatermarkValve(_gate.ChannelCount);
                var processingTime = new ProcessingTimeDriver(Context.Clock);
                long records = 0;
                while (open > 0)
                {
                    if (mailbox is not null && mailbox.HasMail)
                    {
                        mailbox.Drain();
                    }

                    processingTime.Advance(ref body);
                    Batch<T>? batch = input.TryTake();
                    if (batch is null)
                    {
                        // Going idle: push what this chain holds downstream before blocking, so output
                        // latency is bounded by input arrival, not by batch size.
                        body.Flush();
                        batch = input.Take(processingTime.WaitLimit);
                        if (batch is null)
                        {
                            if (Context.AbortToken.IsCancellationRequested)
                            {
                                return false;
                            }

                            continue; // woken for mail
                        }
                    }

                    if (batch.Kind == BatchKind.Data)
                    {
                        records += batch.Count;
                        Context.Progress?.EnterBatch(Context.ProgressSlot);
                        body.ProcessBatch(batch.Records, batch.RecordTimestamps);
                        Context.Progress?.LeaveBatch(Context.ProgressSlot);
                    }
                    else if (batch.Kind is BatchKind.Watermark or BatchKind.WatermarkStatus)
                    {
                        EventTime.Apply(ref body, valve, batch.Kind, batch.Channel, batch.Watermark, batch.Idle);
                    }
                    else
                    {
                        HandleMarker(batch.Kind, batch.Channel, batch.CheckpointId, ref open, barriers);
                    }

                    input.Recycle(batch);
                }

                RecordsIn = records;
                body.EndOfInput();
                return Finish();
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
                Context.RestoreState();
                SubtaskMailbox? mailbox = Mailbox;
                var input1 = new AlignedGate<T1>(_gate1);
                var input2 = new AlignedGate<T2>(_gate2);
                int channels1 = _gate1.ChannelCount;
                BarrierHandler? barriers = null;
                if (Context.Checkpointer is { } checkpointer)
                {
                    mailbox!.Wake = () => _available.Set();

                    // One aligner over both inputs: input 1's channels are numbered after input 0's.
                    barriers = new BarrierHandler(
                        channels1 + _gate2.ChannelCount,
                        checkpointer.Driver.Mode,
                        checkpointer,
                        channel =>
                        {
                            if (channel < channels1)
                            {
                                input1.Block(channel);
                            }
                            else
                            {
                                input2.Block(channel - channels1);
                            }
                        },
                        () =>
                        {
                            input1.UnblockAll();
                            input2.UnblockAll();
                        });
                }

                int open1 = _gate1.ChannelCount;
                int open2 = _gate2.ChannelCount;

                // Event time is the minimum over both inputs' channels (input 1's numbered after input 0's).
                var valve = new Time.WatermarkValve(channels1 + _gate2.ChannelCount);
                var processingTime = new ProcessingTimeDriver(Context.Clock);
                long records = 0;
                bool broadcastTurn = true;
                while (open1 > 0 || open2 > 0)
                {
                    if (mailbox is not null && mailbox.HasMail)
                    {
                        mailbox.Drain();
                    }

                    processingTime.Advance(ref body);

                    // The input allowed to go first this round: input 1 while broadcast-first reading
                    // is in force, else the one whose turn it is.
                    bool onlyBroadcast = _broadcastFirst && open2 > 0;
                    bool tryBroadcast = open2 > 0 && (broadcastTurn || onlyBroadcast || open1 == 0);
                    if (tryBroadcast && input2.TryTake() is { } batch2)
                    {
                        records += Consume(ref body, input2, batch2, ref open2, barriers, valve, channels1, onlyBroadcast, Context);
                        broadcastTurn = false;
                        continue;
                    }

                    if (!onlyBroadcast && open1 > 0 && input1.TryTake() is { } batch1)
                    {
                        records += Consume(ref body, input1, batch1, ref open1, barriers, valve, Context);
                        broadcastTurn = true;
                        continue;
                    }

                    if (!tryBroadcast && open2 > 0 && input2.TryTake() is { } late2)
                    {
                        records += Consume(ref body, input2, late2, ref open2, barriers, valve, channels1, onlyBroadcast, Context);
                        continue;
                    }

                    // Going idle: push what this chain holds downstream before blocking (see
                    // ExchangeSubtask), then wait until either gate receives a batch. The event is
                    // reset before the gates are checked again, so a batch sent in between sets it.
                    body.Flush();
                    _available.Reset();
                    if ((open2 > 0 && input2.HasBatches) || (!onlyBroadcast && open1 > 0 && input1.HasBatches) || (mailbox?.HasMail ?? false))
                    {
                        continue;
                    }

                    while (!_available.Wait(s_idleWait))
                    {
                        if (Context.AbortToken.IsCancellationRequested)
                        {
                            return false;
                        }

                        if (processingTime.IsDue)
                        {
                            break;
                        }
                    }
                }

                RecordsIn = records;
                if (Context.AbortToken.IsCancellationRequested)
                {
                    return false;
                }

                body.EndOfInput();
                return Finish();
            }
            finally
            {
                // The event is not disposed: a sender may still set it after handing over the last
                // end-of-input marker, and without a wait handle it holds no OS resource.
                body.Close();
            }
        }

        private static long Consume(ref TBody body, AlignedGate<T1> input, Batch<T1> batch, ref int open, BarrierHandler? barriers, Time.WatermarkValve valve, SubtaskContext context)
        {
            int count = 0;
            if (batch.Kind == BatchKind.Data)
            {
                count = batch.Count;
                context.Progress?.EnterBatch(context.ProgressSlot);
                body.ProcessBatch1(batch.Records, batch.RecordTimestamps);
                context.Progress?.LeaveBatch(context.ProgressSlot);
            }
            else if (batch.Kind is BatchKind.Watermark or BatchKind.WatermarkStatus)
            {
                EventTime.Apply(ref body, valve, batch.Kind, batch.Channel, batch.Watermark, batch.Idle);
            }
            else
            {
                HandleMarker(batch.Kind, batch.Channel, batch.CheckpointId, ref open, barriers);
            }

            input.Recycle(batch);
            return count;
        }

        private static long Consume(ref TBody body, AlignedGate<T2> input, Batch<T2> batch, ref int open, BarrierHandler? barriers, Time.WatermarkValve valve, int channelOffset, bool readingFirst, SubtaskContext context)
        {
            int count = 0;
            if (batch.Kind == BatchKind.Data)
            {
                count = batch.Count;
                context.Progress?.EnterBatch(context.ProgressSlot);
                body.ProcessBatch2(batch.Records, batch.RecordTimestamps);
                context.Progress?.LeaveBatch(context.ProgressSlot);
            }
            else if (batch.Kind is BatchKind.Watermark or BatchKind.WatermarkStatus)
            {
                EventTime.Apply(ref body, valve, batch.Kind, channelOffset + batch.Channel, batch.Watermark, batch.Idle);
            }
            else if (batch.Kind == BatchKind.Barrier && readingFirst)
            {
                barriers!.DeclineWhileReadingOneInputFirst(batch.CheckpointId);
            }
            else
            {
                HandleMarker(batch.Kind, channelOffset + batch.Channel, batch.CheckpointId, ref open, barriers);
            }

            input.Recycle(batch);
            return count;
        }
    }

    /// <summary>Feeds watermark markers through a subtask's valve into its chain body.</summary>
    internal static class EventTime
    {
        public static void Apply<TBody>(ref TBody body, Time.WatermarkValve valve, BatchKind kind, int channel, long watermark, bool idle)
            where TBody : struct, IEventTimeChain
        {
            if (kind == BatchKind.Watermark)
            {
                if (valve.OnWatermark(channel, watermark))
                {
                    body.OnWatermark(valve.Current);
                }

                return;
            }

            (bool advanced, bool statusChanged) = valve.OnStatus(channel, idle);
            if (advanced)
            {
                body.OnWatermark(valve.Current);
            }

            if (statusChanged)
            {
                body.OnWatermarkStatus(valve.IsIdle);
            }
        }
    }

    /// <summary>
    /// Calls a chain body's <c>OnProcessingTime</c> when it asked to be called, reading the clock once
    /// per batch; a chain without watermark generators or processing-time timers asks never.
    /// </summary>
    internal struct ProcessingTimeDriver
    {
        private static readonly TimeSpan s_maxWait = TimeSpan.FromMilliseconds(50);
        private readonly TimeProvider _clock;
        private long _due;

        public ProcessingTimeDriver(TimeProvider clock)
        {
            _clock = clock;
            _due = long.MinValue;
        }

        private readonly long Now => _clock.GetUtcNow().ToUnixTimeMilliseconds();

        /// <summary>Whether the body wants to be called now.</summary>
        public readonly bool IsDue => _due != long.MaxValue && Now >= _due;

        /// <summary>How long an idle subtask may block before it must call the body (null: as long as it likes).</summary>
        public readonly TimeSpan? WaitLimit => _due == long.MaxValue ? null : s_maxWait;

        public void Advance<TBody>(ref TBody body)
            where TBody : struct, IEventTimeChain
        {
            if (_due == long.MaxValue)
            {
                return;
            }

            long now = Now;
            if (now >= _due)
            {
                _due = body.OnProcessingTime(now);
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
