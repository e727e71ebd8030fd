using System;
using System.Runtime.CompilerServices;

namespace Weir.Execution
{
    /// <summary>How records cross from one chain to the next.</summary>
    public enum ExchangeKind
    {
        /// <summary>Subtask i sends to subtask i (becomes <see cref="Rebalance"/> when parallelisms differ).</summary>
        Forward,

        /// <summary>Round-robin over the receiving subtasks.</summary>
        Rebalance,

        /// <summary>Every record to every receiving subtask.</summary>
        Broadcast,

        /// <summary>By key group of the record's key (the generated code picks the target).</summary>
        Hash,
    }

    /// <summary>
    /// A chain that runs on its producer's thread: when both ends of its only input edge have
    /// parallelism 1, a thread hop and a queue would only add cost, so the producer hands it whole
    /// batches directly (one interface call per batch, none per record).
    /// </summary>
    internal interface IDirectConsumer<T>
    {
        void Consume(ReadOnlySpan<T> records, ReadOnlySpan<long> timestamps);

        /// <summary>Event time advanced at the producer (a single input: it is the consumer's event time).</summary>
        void Watermark(long watermark);

        /// <summary>The producer became idle or active again.</summary>
        void WatermarkStatus(bool idle);

        /// <summary>Processing time passed on the producer's thread (see <see cref="CompilerServices.IEventTimeChain.OnProcessingTime"/>).</summary>
        long ProcessingTime(long now);

        void Flush();

        void EndOfInput();

        /// <summary>Barrier of a checkpoint: the consumer has a single input, so it snapshots at once.</summary>
        void Barrier(long checkpointId);

        /// <summary>A checkpoint was cancelled upstream.</summary>
        void CancelBarrier(long checkpointId);

        void Close();
    }

    /// <summary>The untyped face of an exchange writer, for checkpoint barriers.</summary>
    internal interface IBarrierEmitter
    {
        /// <summary>Sends what is buffered, then a barrier to every receiver.</summary>
        void EmitBarrier(long checkpointId);

        /// <summary>Sends what is buffered, then a cancellation marker to every receiver.</summary>
        void EmitCancelBarrier(long checkpointId);
    }

    /// <summary>
    /// The sending side of one exchange edge on one subtask: a batch per receiving subtask, filled
    /// record by record and sent to the receiver's gate when full, when the sender goes idle
    /// (<see cref="Flush"/>) and at the end of input.
    /// </summary>
    public sealed class ExchangeWriter<T> : IBarrierEmitter
    {
        private readonly InputGate<T>[] _targets;
        private readonly Batch<T>?[] _current;
        private readonly ExchangeKind _kind;
        private readonly int _channel;
        private readonly IDirectConsumer<T>? _direct;
        private readonly int _targetCount;
        private readonly int[] _subtaskOfKeyGroup;
        private int _nextTarget;

        internal ExchangeWriter(InputGate<T>[] targets, ExchangeKind kind, int channel, int maxParallelism)
        {
            _targets = targets;
            _current = new Batch<T>?[targets.Length];
            _kind = kind;
            _channel = channel;
            _targetCount = targets.Length;

            // Key group -> receiving subtask, computed once: routing then costs one load per record
            // instead of a division.
            _subtaskOfKeyGroup = new int[kind == ExchangeKind.Hash ? maxParallelism : 0];
            for (int keyGroup = 0; keyGroup < _subtaskOfKeyGroup.Length; keyGroup++)
            {
                _subtaskOfKeyGroup[keyGroup] = KeyGroups.Subtask(keyGroup, maxParallelism, targets.Length);
            }

            // Senders start their round-robin at different receivers, so small inputs spread evenly.
            _nextTarget = channel % targets.Length;
        }

        internal ExchangeWriter(IDirectConsumer<T> direct, int batchSize)
        {
            _targets = Array.Empty<InputGate<T>>();
            _current = new Batch<T>?[] { new Batch<T>(batchSize) };
            _kind = ExchangeKind.Forward;
            _direct = direct;
            _targetCount = 1;
            _subtaskOfKeyGroup = Array.Empty<int>();
        }

        /// <summary>Number of receiving subtasks this writer can reach.</summary>
        public int TargetCount
        {
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            get => _targetCount;
        }

        /// <summary>Sends a record to one receiving subtask (hash exchange).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void EmitTo(int target, in T record)
        {
            Batch<T>? batch = _current[target];
            if (batch is not null && batch.Count < batch.Items.Length - 1)
            {
                batch.Items[batch.Count++] = record;
                return;
            }

            AppendSlow(target, record);
        }

        /// <summary>Sends a record and its event-time timestamp to one receiving subtask (hash exchange).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void EmitTo(int target, in T record, long timestamp)
        {
            Batch<T>? batch = _current[target];
            if (batch is not null && batch.Count < batch.Items.Length - 1)
            {
                batch.Timestamps[batch.Count] = timestamp;
                batch.Items[batch.Count++] = record;
                return;
            }

            AppendSlow(target, record, timestamp);
        }

        /// <summary>Sends a record to the receiving subtask that owns its key group (hash exchange with more than one receiver).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void EmitToKeyGroup(int keyGroup, in T record) => EmitTo(_subtaskOfKeyGroup[keyGroup], in record);

        /// <summary>Sends a record and its timestamp to the receiving subtask that owns its key group.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void EmitToKeyGroup(int keyGroup, in T record, long timestamp) => EmitTo(_subtaskOfKeyGroup[keyGroup], in record, timestamp);

        /// <summary>
        /// Sends a whole batch according to the edge's kind; on a hash edge only valid with a single
        /// receiver. A chain that runs on this thread gets the span itself, without a copy.
        /// </summary>
        public void EmitBatch(ReadOnlySpan<T> records, ReadOnlySpan<long> timestamps)
        {
            if (_direct is not null)
            {
                // Records already buffered go first, so the receiver sees them in order.
                if (_current[0]!.Count > 0)
                {
                    SendCurrent(0);
                }

                _direct.Consume(records, timestamps);
                return;
            }

            if (_kind == ExchangeKind.Hash && _targetCount != 1)
            {
                throw new InvalidOperationException("A hash exchange with several receivers routes record by record.");
            }

            for (int i = 0; i < records.Length; i++)
            {
                Emit(in records[i], timestamps[i]);
            }
        }

        /// <summary>Sends a record according to the edge's kind (forward, rebalance or broadcast).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Emit(in T record)
        {
            switch (_kind)
            {
                case ExchangeKind.Broadcast:
                    for (int i = 0; i < _targets.Length; i++)
                    {
                        EmitTo(i, record);
                    }

                    break;
                case ExchangeKind.Rebalance:
                    int target = _nextTarget;
                    _nextTarget = target + 1 == _targets.Length ? 0 : target + 1;
                    EmitTo(target, record);
                    break;
                default:
                    EmitTo(0, record);
                    break;
            }
        }

        /// <summary>Sends a record and its event-time timestamp according to the edge's kind.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Emit(in T record, long timestamp)
        {
            switch (_kind)
            {
                case ExchangeKind.Broadcast:
                    for (int i = 0; i < _targets.Length; i++)
                    {
                        EmitTo(i, record, timestamp);
                    }

                    break;
                case ExchangeKind.Rebalance:
                    int target = _nextTarget;
                    _nextTarget = target + 1 == _targets.Length ? 0 : target + 1;
                    EmitTo(target, record, timestamp);
                    break;
                default:
                    EmitTo(0, record, timestamp);
                    break;
            }
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private void AppendSlow(int target, in T record, long timestamp)
        {
            Batch<T> batch = _current[target] ??= _targets[target].Rent();
            batch.Timestamps[batch.Count] = timestamp;
            batch.Items[batch.Count++] = record;
            if (batch.Count == batch.Items.Length)
            {
                SendCurrent(target);
            }
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private void AppendSlow(int target, in T record)
        {
            Batch<T> batch = _current[target] ??= _targets[target].Rent();
            batch.Items[batch.Count++] = record;
            if (batch.Count == batch.Items.Length)
            {
                SendCurrent(target);
            }
        }

        /// <summary>Sends every partly filled batch.</summary>
        public void Flush()
        {
            if (_direct is not null)
            {
                SendCurrent(0);
                _direct.Flush();
                return;
            }

            for (int i = 0; i < _current.Length; i++)
            {
                if (_current[i] is { Count: > 0 })
                {
                    SendCurrent(i);
                }
            }
        }

        /// <summary>Flushes, then tells every receiver that this sender has no more records.</summary>
        public void EndOfInput()
        {
            Flush();
            if (_direct is not null)
            {
                _direct.EndOfInput();
                return;
            }

            for (int i = 0; i < _targets.Length; i++)
            {
                Batch<T> marker = _targets[i].Rent();
                marker.Kind = BatchKind.EndOfInput;
                Send(i, marker);
            }
        }

        /// <summary>
        /// Sends what is buffered, then the sender's new watermark to every receiver (watermarks are
        /// broadcast whatever the edge's kind: every receiver's event time depends on every sender).
        /// </summary>
        public void EmitWatermark(long watermark)
        {
            Flush();
            if (_direct is not null)
            {
                _direct.Watermark(watermark);
                return;
            }

            for (int i = 0; i < _targets.Length; i++)
            {
                Batch<T> marker = _targets[i].Rent();
                marker.Kind = BatchKind.Watermark;
                marker.Watermark = watermark;
                Send(i, marker);
            }
        }

        /// <summary>Sends what is buffered, then tells every receiver that this sender became idle or active.</summary>
        public void EmitWatermarkStatus(bool idle)
        {
            Flush();
            if (_direct is not null)
            {
                _direct.WatermarkStatus(idle);
                return;
            }

            for (int i = 0; i < _targets.Length; i++)
            {
                Batch<T> marker = _targets[i].Rent();
                marker.Kind = BatchKind.WatermarkStatus;
                marker.Idle = idle;
                Send(i, marker);
            }
        }

        /// <summary>
        /// Processing time passed: a chain running on this thread (a direct receiver) gets it too, as it
        /// has no loop of its own. Returns when that chain next wants to be called.
        /// </summary>
        public long AdvanceProcessingTime(long now) => _direct?.ProcessingTime(now) ?? long.MaxValue;

        void IBarrierEmitter.EmitBarrier(long checkpointId) => EmitMarker(BatchKind.Barrier, checkpointId);

        void IBarrierEmitter.EmitCancelBarrier(long checkpointId) => EmitMarker(BatchKind.CancelBarrier, checkpointId);

        // Markers travel in band: buffered records go first, so a receiver sees exactly the records
        // sent before the marker ahead of it.
        private void EmitMarker(BatchKind kind, long checkpointId)
        {
            Flush();
            if (_direct is not null)
            {
                if (kind == BatchKind.Barrier)
                {
                    _direct.Barrier(checkpointId);
                }
                else
                {
                    _direct.CancelBarrier(checkpointId);
                }

                return;
            }

            for (int i = 0; i < _targets.Length; i++)
            {
                Batch<T> marker = _targets[i].Rent();
                marker.Kind = kind;
                marker.CheckpointId = checkpointId;
                Send(i, marker);
            }
        }

        private void SendCurrent(int target)
        {
            if (_direct is not null)
            {
                Batch<T> own = _current[0]!;
                _direct.Consume(own.Records, own.RecordTimestamps);
                own.Reset();
                return;
            }

            Batch<T> batch = _current[target]!;
            _current[target] = null;
            Send(target, batch);
        }

        private void Send(int target, Batch<T> batch)
        {
            batch.Channel = _channel;
            if (!_targets[target].Send(batch))
            {
                throw new OperationCanceledException("The job is aborting.");
            }
        }
    }
}
