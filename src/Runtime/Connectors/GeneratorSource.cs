using System;
using System.Runtime.CompilerServices;
using Weir.State;

namespace Weir.Connectors
{
    /// <summary>Produces the record with a given index; a struct, so generation is inlined.</summary>
    public interface IRecordGenerator<T>
    {
        /// <summary>The record at <paramref name="index"/> (deterministic: replaying an index gives the same record).</summary>
        T Generate(long index);
    }

    /// <summary>
    /// A source of generated records: indices [0, count) split into contiguous ranges per subtask,
    /// or an unbounded sequence when count is null (stopped by Ctrl+C or cancellation).
    /// </summary>
    public sealed class GeneratorSource<T, TGenerator> : ISource<T, GeneratorReader<T, TGenerator>>
        where TGenerator : struct, IRecordGenerator<T>
    {
        private readonly long? _count;
        private readonly TGenerator _generator;

        /// <summary>Creates the source.</summary>
        public GeneratorSource(long? count, TGenerator generator)
        {
            if (count < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(count), count, "A record count cannot be negative.");
            }

            _count = count;
            _generator = generator;
        }

        /// <inheritdoc/>
        public bool IsBounded => _count.HasValue;

        /// <inheritdoc/>
        public GeneratorReader<T, TGenerator> CreateReader(SourceContext context)
        {
            if (_count is not long count)
            {
                // Unbounded: subtask i generates indices i, i + p, i + 2p, ...
                return new GeneratorReader<T, TGenerator>(_generator, new IndexRange(context.SubtaskIndex, long.MaxValue, context.Parallelism), context);
            }

            long start = count * context.SubtaskIndex / context.Parallelism;
            long end = count * (context.SubtaskIndex + 1) / context.Parallelism;
            return new GeneratorReader<T, TGenerator>(_generator, new IndexRange(start, end, 1), context);
        }
    }

    /// <summary>
    /// Indices a reader still has to read: <see cref="Next"/>, <see cref="Next"/> + <see cref="Step"/>,
    /// ... below <see cref="End"/>. A reader's checkpointed position is its list of ranges.
    /// </summary>
    /// <param name="Next">The next index to read.</param>
    /// <param name="End">The first index not to read (exclusive bound).</param>
    /// <param name="Step">The distance between indices.</param>
    public readonly record struct IndexRange(long Next, long End, long Step)
    {
        /// <summary>Whether no index is left.</summary>
        public bool IsDone => Next >= End;
    }

    /// <summary>
    /// The positions of an index-based reader (generator or array) as checkpointed operator state: an
    /// even-split list of <see cref="IndexRange"/>s, so a restore at another parallelism hands every
    /// unread index to exactly one new subtask.
    /// </summary>
    internal sealed class IndexRangePositions
    {
        private readonly OperatorListState<IndexRange> _state = new("positions", new IndexRangeSerializer());
        private IndexRange[] _ranges;
        private int _current;

        public IndexRangePositions(IndexRange initial, SourceContext context)
        {
            _ranges = [initial];
            context.Checkpoints?.Register(new Checkpointing.Snapshots.OperatorStateCheckpoint(
                context.OperatorId,
                "source",
                () =>
                {
                    _state.Update(_ranges);
                    return [_state];
                },
                () =>
                {
                    _ranges = _state.Items.ToArray();
                    _current = 0;
                }));
        }

        /// <summary>
        /// The range to read next, or false when all are done. Ranges take turns batch by batch, so
        /// an unbounded range does not starve one restored next to it.
        /// </summary>
        public bool TryCurrent(out int index)
        {
            for (int tried = 0; tried < _ranges.Length; tried++)
            {
                index = (_current + tried) % _ranges.Length;
                if (!_ranges[index].IsDone)
                {
                    _current = (index + 1) % _ranges.Length;
                    return true;
                }
            }

            index = -1;
            return false;
        }

        public ref IndexRange this[int index] => ref _ranges[index];

        /// <summary>Three little-endian longs: a fixed layout, no reflection (Native AOT).</summary>
        private sealed class IndexRangeSerializer : IStateSerializer<IndexRange>
        {
            public void Serialize(in IndexRange value, System.Buffers.IBufferWriter<byte> output)
            {
                Span<byte> bytes = output.GetSpan(24);
                System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(bytes, value.Next);
                System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(bytes[8..], value.End);
                System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(bytes[16..], value.Step);
                output.Advance(24);
            }

            public IndexRange Deserialize(ReadOnlySpan<byte> input)
            {
                if (input.Length != 24)
                {
                    throw new StateSnapshotException("positions", $"A source position is 24 bytes, but {input.Length} were stored.");
                }

                return new IndexRange(
                    System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(input),
                    System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(input[8..]),
                    System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(input[16..]));
            }
        }
    }

    /// <summary>Reads generated records.</summary>
    public sealed class GeneratorReader<T, TGenerator> : ISourceReader<T>
        where TGenerator : struct, IRecordGenerator<T>
    {
        private readonly IndexRangePositions _positions;
        private TGenerator _generator;

        internal GeneratorReader(TGenerator generator, IndexRange range, SourceContext context)
        {
            _generator = generator;
            _positions = new IndexRangePositions(range, context);
        }

        /// <inheritdoc/>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public int Read(Span<T> buffer)
        {
            if (!_positions.TryCurrent(out int index))
            {
                return -1;
            }

            ref IndexRange range = ref _positions[index];
            long next = range.Next;
            long step = range.Step;
            int count = (int)Math.Min(buffer.Length, (range.End - next + step - 1) / step);
            for (int i = 0; i < count; i++)
            {
                buffer[i] = _generator.Generate(next);
                next += step;
            }

            range = range with { Next = next };
            return count;
        }

        /// <inheritdoc/>
        public void Dispose()
        {
        }
    }

    /// <summary>A bounded source over an array (split into contiguous ranges per subtask).</summary>
    public sealed class ArraySource<T> : ISource<T, ArrayReader<T>>
    {
        private readonly T[] _items;

        /// <summary>Creates the source.</summary>
        public ArraySource(T[] items) => _items = items ?? throw new ArgumentNullException(nameof(items));

        /// <inheritdoc/>
        public bool IsBounded => true;

        /// <inheritdoc/>
        public ArrayReader<T> CreateReader(SourceContext context)
        {
            int start = (int)((long)_items.Length * context.SubtaskIndex / context.Parallelism);
            int end = (int)((long)_items.Length * (context.SubtaskIndex + 1) / context.Parallelism);
            return new ArrayReader<T>(_items, new IndexRange(start, end, 1), context);
        }
    }

    /// <summary>Reads one subtask's range of an array.</summary>
    public sealed class ArrayReader<T> : ISourceReader<T>
    {
        private readonly T[] _items;
        private readonly IndexRangePositions _positions;

        internal ArrayReader(T[] items, IndexRange range, SourceContext context)
        {
            _items = items;
            _positions = new IndexRangePositions(range, context);
        }

        /// <inheritdoc/>
        public int Read(Span<T> buffer)
        {
            if (!_positions.TryCurrent(out int index))
            {
                return -1;
            }

            ref IndexRange range = ref _positions[index];
            int next = (int)range.Next;
            int count = (int)Math.Min(buffer.Length, range.End - next);
            _items.AsSpan(next, count).CopyTo(buffer);
            range = range with { Next = next + count };
            return count;
        }

        /// <inheritdoc/>
        public void Dispose()
        {
        }
    }
}
