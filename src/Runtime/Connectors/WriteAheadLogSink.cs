using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Runtime.CompilerServices;
using Weir.Checkpointing.Snapshots;
using Weir.Checkpointing.Storage;
using Weir.State;

namespace Weir.Connectors
{
    /// <summary>
    /// A sink for systems without transactions (Flink's GenericWriteAheadSink): it wraps another,
    /// non-transactional sink and hands it records only once the checkpoint that covers them is
    /// complete. Records are buffered in checkpointed state, one batch per checkpoint interval; when
    /// checkpoint <c>N</c> completes, the batches of checkpoints up to <c>N</c> are written to the
    /// inner writer, in order, and the inner writer is flushed.
    /// </summary>
    /// <remarks>
    /// <para><b>Guarantee.</b> After a failure the restore writes again every batch the restored
    /// checkpoint still held, that is the batches of completed checkpoints whose emission may or may
    /// not have happened before the failure. So the output is exactly-once only if the inner system
    /// ignores a replay of the last batches (idempotent writes, for example upserts by key);
    /// otherwise it is at-least-once: a batch can appear twice, never not at all. Records appear
    /// only after their checkpoint completes, which delays output by up to one checkpoint interval,
    /// and the buffered records take checkpoint space.</para>
    /// <para><b>Without checkpoints</b> records pass straight through to the inner writer.</para>
    /// <para><b>End of input under checkpoints.</b> <see cref="WriteAheadLogWriter{T, TInnerWriter}.Finish"/>
    /// only marks the end: the final checkpoint taken after all input captures the last batch and,
    /// once every batch has been written on completion, the inner writer is finished.</para>
    /// <para>The inner sink is created without checkpoints (it must not take part in them itself).</para>
    /// </remarks>
    public sealed class WriteAheadLogSink<T, TInnerWriter> : ISink<T, WriteAheadLogWriter<T, TInnerWriter>>
        where TInnerWriter : ISinkWriter<T>
    {
        private readonly ISink<T, TInnerWriter> _inner;
        private readonly IStateSerializer<T> _serializer;

        /// <summary>Creates the sink around <paramref name="inner"/>; <paramref name="serializer"/> writes buffered records into checkpoints.</summary>
        public WriteAheadLogSink(ISink<T, TInnerWriter> inner, IStateSerializer<T> serializer)
        {
            _inner = inner ?? throw new ArgumentNullException(nameof(inner));
            _serializer = serializer ?? throw new ArgumentNullException(nameof(serializer));
        }

        /// <inheritdoc/>
        public WriteAheadLogWriter<T, TInnerWriter> CreateWriter(SinkContext context)
        {
            ArgumentNullException.ThrowIfNull(context);
            TInnerWriter inner = _inner.CreateWriter(new SinkContext(context.OperatorId, context.SubtaskIndex, context.Parallelism, checkpoints: null));
            var writer = new WriteAheadLogWriter<T, TInnerWriter>(context, inner, _serializer);
            context.Checkpoints?.Register(writer);
            return writer;
        }
    }

    /// <summary>The records of one checkpoint interval, held until that checkpoint completes.</summary>
    public readonly record struct WriteAheadBatch<T>(long CheckpointId, T[] Records);

    /// <summary>Buffers one subtask's records per checkpoint and writes them to the inner writer on completion.</summary>
    public sealed class WriteAheadLogWriter<T, TInnerWriter> : ISinkWriter<T>, ICheckpointedState
        where TInnerWriter : ISinkWriter<T>
    {
        private const string StateKind = "sink";

        private readonly SinkContext _context;
        private readonly TInnerWriter _inner;
        private readonly WriteAheadBatchSerializer<T> _batchSerializer;
        private readonly bool _passThrough;
        private readonly List<WriteAheadBatch<T>> _batches = [];
        private T[] _buffer = Array.Empty<T>();
        private int _count;
        private bool _finished;
        private bool _innerFinished;

        internal WriteAheadLogWriter(SinkContext context, TInnerWriter inner, IStateSerializer<T> serializer)
        {
            _context = context;
            _inner = inner;
            _batchSerializer = new WriteAheadBatchSerializer<T>(serializer);
            _passThrough = context.Checkpoints is null;
        }

        /// <summary>The inner writer.</summary>
        public TInnerWriter Inner => _inner;

        /// <summary>Records written since the last checkpoint.</summary>
        public int BufferedRecords => _count;

        /// <summary>Batches captured by checkpoints not confirmed complete yet.</summary>
        public IReadOnlyList<WriteAheadBatch<T>> PendingBatches => _batches;

        string ICheckpointedState.OperatorId => _context.OperatorId;

        string ICheckpointedState.StateKind => StateKind;

        /// <inheritdoc/>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Write(in T record)
        {
            if (_passThrough)
            {
                _inner.Write(in record);
                return;
            }

            T[] buffer = _buffer;
            int count = _count;
            if ((uint)count < (uint)buffer.Length)
            {
                buffer[count] = record;
                _count = count + 1;
            }
            else
            {
                AppendWithGrowth(in record);
            }
        }

        /// <inheritdoc/>
        public void Flush()
        {
            if (_passThrough)
            {
                _inner.Flush();
            }
        }

        /// <inheritdoc/>
        public void Finish()
        {
            _finished = true;
            if (_passThrough)
            {
                _inner.Finish();
                _innerFinished = true;
                return;
            }

            FinishInnerWhenDrained();
        }

        /// <inheritdoc/>
        public void Dispose() => _inner.Dispose();

        IStateSnapshot ICheckpointedState.Snapshot(long checkpointId)
        {
            if (_passThrough)
            {
                throw new InvalidOperationException($"Sink '{_context.OperatorId}' subtask {_context.SubtaskIndex} was created without checkpoints and has no checkpointed state.");
            }

            if (_count > 0)
            {
                _batches.Add(new WriteAheadBatch<T>(checkpointId, _buffer.AsSpan(0, _count).ToArray()));
                if (RuntimeHelpers.IsReferenceOrContainsReferences<T>())
                {
                    Array.Clear(_buffer, 0, _count);
                }

                _count = 0;
            }

            // Batches are never changed once captured, so the snapshot thread may serialize them.
            return new BatchesSnapshot(_batches.ToArray(), _batchSerializer);
        }

        void ICheckpointedState.Restore(RestoredOperatorState state)
        {
            var restored = new OperatorListState<WriteAheadBatch<T>>("batches", _batchSerializer);
            ConnectorState.Restore(restored, state, StateKind);

            // Every restored batch belongs to a checkpoint no later than the restored one, which is
            // complete; it may or may not have reached the inner system before the failure, so it
            // is written (again) now.
            foreach (WriteAheadBatch<T> batch in restored.Items)
            {
                Emit(batch);
            }

            _inner.Flush();
        }

        void ICheckpointedState.NotifyCheckpointComplete(long checkpointId)
        {
            int emitted = 0;
            try
            {
                foreach (WriteAheadBatch<T> batch in _batches)
                {
                    if (batch.CheckpointId > checkpointId)
                    {
                        break;
                    }

                    Emit(batch);
                    emitted++;
                }

                if (emitted > 0)
                {
                    _inner.Flush();
                }
            }
            finally
            {
                _batches.RemoveRange(0, emitted);
            }

            FinishInnerWhenDrained();
        }

        void ICheckpointedState.NotifyCheckpointAborted(long checkpointId)
        {
            // The batch stays: the next checkpoint captures it again and its completion emits it.
        }

        void ICheckpointedState.NotifySavepointComplete(long checkpointId)
        {
            // Not emitted: a savepoint that does not stop the job commits nothing; the next checkpoint
            // captures the batches again and its completion emits them.
        }

        private void Emit(WriteAheadBatch<T> batch)
        {
            T[] records = batch.Records;
            for (int i = 0; i < records.Length; i++)
            {
                _inner.Write(in records[i]);
            }
        }

        private void FinishInnerWhenDrained()
        {
            if (_finished && !_innerFinished && _count == 0 && _batches.Count == 0)
            {
                _inner.Finish();
                _innerFinished = true;
            }
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private void AppendWithGrowth(in T record)
        {
            Array.Resize(ref _buffer, Math.Max(16, _buffer.Length * 2));
            _buffer[_count++] = record;
        }

        private sealed class BatchesSnapshot(WriteAheadBatch<T>[] batches, WriteAheadBatchSerializer<T> serializer) : IStateSnapshot
        {
            public IReadOnlyList<SubtaskStateFile> Write(SnapshotOutput output)
            {
                var state = new OperatorListState<WriteAheadBatch<T>>("batches", serializer);
                state.AddAll(batches);
                var bytes = new ArrayBufferWriter<byte>();
                state.WriteSnapshot(bytes);
                using StateFileWriter file = output.CreateExclusiveFile(StateKind);
                file.Stream.Write(bytes.WrittenSpan);
                return [new SubtaskStateFile(StateKind, file.Commit())];
            }
        }
    }

    /// <summary>A batch as its checkpoint ID and record count, then each record with a 4-byte length.</summary>
    internal sealed class WriteAheadBatchSerializer<T>(IStateSerializer<T> records) : IStateSerializer<WriteAheadBatch<T>>
    {
        public void Serialize(in WriteAheadBatch<T> value, IBufferWriter<byte> output)
        {
            Span<byte> header = output.GetSpan(12);
            BinaryPrimitives.WriteInt64LittleEndian(header, value.CheckpointId);
            BinaryPrimitives.WriteInt32LittleEndian(header[8..], value.Records.Length);
            output.Advance(12);
            var scratch = new ArrayBufferWriter<byte>();
            foreach (T record in value.Records)
            {
                scratch.ResetWrittenCount();
                records.Serialize(record, scratch);
                Span<byte> frame = output.GetSpan(4 + scratch.WrittenCount);
                BinaryPrimitives.WriteInt32LittleEndian(frame, scratch.WrittenCount);
                scratch.WrittenSpan.CopyTo(frame[4..]);
                output.Advance(4 + scratch.WrittenCount);
            }
        }

        public WriteAheadBatch<T> Deserialize(ReadOnlySpan<byte> input)
        {
            if (input.Length < 12)
            {
                throw new InvalidDataException($"A write-ahead batch in a checkpoint is {input.Length} bytes, shorter than its header.");
            }

            long checkpointId = BinaryPrimitives.ReadInt64LittleEndian(input);
            int count = BinaryPrimitives.ReadInt32LittleEndian(input[8..]);
            if (count < 0 || count > (input.Length - 12) / 4)
            {
                throw new InvalidDataException($"A write-ahead batch of checkpoint {checkpointId} claims {count} records in {input.Length} bytes.");
            }

            input = input[12..];
            var result = new T[count];
            for (int i = 0; i < count; i++)
            {
                int length = input.Length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(input) : -1;
                if (length < 0 || length > input.Length - 4)
                {
                    throw new InvalidDataException($"Record {i} of the write-ahead batch of checkpoint {checkpointId} is truncated.");
                }

                result[i] = records.Deserialize(input.Slice(4, length));
                input = input[(4 + length)..];
            }

            if (!input.IsEmpty)
            {
                throw new InvalidDataException($"The write-ahead batch of checkpoint {checkpointId} has {input.Length} bytes after its {count} records.");
            }

            return new WriteAheadBatch<T>(checkpointId, result);
        }
    }
}
