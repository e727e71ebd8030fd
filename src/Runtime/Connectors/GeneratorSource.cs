using System;
using System.Runtime.CompilerServices;

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
                return new GeneratorReader<T, TGenerator>(_generator, context.SubtaskIndex, long.MaxValue, context.Parallelism);
            }

            long start = count * context.SubtaskIndex / context.Parallelism;
            long end = count * (context.SubtaskIndex + 1) / context.Parallelism;
            return new GeneratorReader<T, TGenerator>(_generator, start, end, 1);
        }
    }

    /// <summary>Reads generated records.</summary>
    public sealed class GeneratorReader<T, TGenerator> : ISourceReader<T>
        where TGenerator : struct, IRecordGenerator<T>
    {
        private TGenerator _generator;
        private long _next;
        private readonly long _end;
        private readonly long _step;

        internal GeneratorReader(TGenerator generator, long start, long end, long step)
        {
            _generator = generator;
            _next = start;
            _end = end;
            _step = step;
        }

        /// <inheritdoc/>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public int Read(Span<T> buffer)
        {
            long next = _next;
            if (next >= _end)
            {
                return -1;
            }

            int count = (int)Math.Min(buffer.Length, (_end - next + _step - 1) / _step);
            for (int i = 0; i < count; i++)
            {
                buffer[i] = _generator.Generate(next);
                next += _step;
            }

            _next = next;
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
            return new ArrayReader<T>(_items, start, end);
        }
    }

    /// <summary>Reads one subtask's range of an array.</summary>
    public sealed class ArrayReader<T> : ISourceReader<T>
    {
        private readonly T[] _items;
        private readonly int _end;
        private int _next;

        internal ArrayReader(T[] items, int start, int end)
        {
            _items = items;
            _next = start;
            _end = end;
        }

        /// <inheritdoc/>
        public int Read(Span<T> buffer)
        {
            if (_next >= _end)
            {
                return -1;
            }

            int count = Math.Min(buffer.Length, _end - _next);
            _items.AsSpan(_next, count).CopyTo(buffer);
            _next += count;
            return count;
        }

        /// <inheritdoc/>
        public void Dispose()
        {
        }
    }
}
