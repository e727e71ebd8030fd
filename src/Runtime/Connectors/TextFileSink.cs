using System;
using System.Buffers;
using System.Globalization;
using System.IO;
using System.Runtime.CompilerServices;
using System.Text;

namespace Weir.Connectors
{
    /// <summary>Formats a record as one line of text, without allocating; implemented by structs.</summary>
    public interface ITextFormat<T>
    {
        /// <summary>Writes the line (without its newline) into <paramref name="destination"/>; false when it does not fit.</summary>
        bool TryFormat(in T record, Span<char> destination, out int charsWritten);
    }

    /// <summary>Formats records that implement <see cref="ISpanFormattable"/> (invariant culture).</summary>
    public struct SpanFormattableFormat<T> : ITextFormat<T>
        where T : ISpanFormattable
    {
        /// <inheritdoc/>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool TryFormat(in T record, Span<char> destination, out int charsWritten)
            => record.TryFormat(destination, out charsWritten, default, CultureInfo.InvariantCulture);
    }

    /// <summary>Writes strings as they are.</summary>
    public struct StringFormat : ITextFormat<string>
    {
        /// <inheritdoc/>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool TryFormat(in string record, Span<char> destination, out int charsWritten)
        {
            charsWritten = record.Length;
            return record.AsSpan().TryCopyTo(destination);
        }
    }

    /// <summary>
    /// A sink writing one UTF-8 line per record into a directory: each subtask writes a hidden
    /// in-progress file (<c>.part-NNNN.txt.inprogress</c>) and, when its input ends, flushes it to disk
    /// (fsync) and renames it to <c>part-NNNN.txt</c>, so readers never see a half-written file.
    /// Files whose names start with '.' or '_' are not part of the output.
    /// </summary>
    public sealed class TextFileSink<T, TFormat> : ISink<T, TextFileWriter<T, TFormat>>
        where TFormat : struct, ITextFormat<T>
    {
        /// <summary>Creates the sink.</summary>
        public TextFileSink(string directory) => Directory = directory ?? throw new ArgumentNullException(nameof(directory));

        /// <summary>The output directory (created when missing).</summary>
        public string Directory { get; }

        /// <inheritdoc/>
        public TextFileWriter<T, TFormat> CreateWriter(SinkContext context)
        {
            System.IO.Directory.CreateDirectory(Directory);
            string name = $"part-{context.SubtaskIndex.ToString("D4", CultureInfo.InvariantCulture)}.txt";
            return new TextFileWriter<T, TFormat>(Path.Combine(Directory, "." + name + ".inprogress"), Path.Combine(Directory, name));
        }
    }

    /// <summary>Writes one subtask's lines.</summary>
    public sealed class TextFileWriter<T, TFormat> : ISinkWriter<T>
        where TFormat : struct, ITextFormat<T>
    {
        private readonly string _pendingPath;
        private readonly string _finalPath;
        private readonly FileStream _file;
        private readonly StreamWriter _writer;
        private char[] _line = new char[256];
        private TFormat _format = default;
        private bool _finished;

        internal TextFileWriter(string pendingPath, string finalPath)
        {
            _pendingPath = pendingPath;
            _finalPath = finalPath;
            _file = new FileStream(pendingPath, FileMode.Create, FileAccess.Write, FileShare.Read, bufferSize: 1);
            _writer = new StreamWriter(_file, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), bufferSize: 1 << 16) { NewLine = "\n" };
        }

        /// <inheritdoc/>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Write(in T record)
        {
            if (_format.TryFormat(record, _line, out int written))
            {
                _writer.Write(_line.AsSpan(0, written));
                _writer.Write('\n');
            }
            else
            {
                WriteLong(record);
            }
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private void WriteLong(in T record)
        {
            int written;
            while (!_format.TryFormat(record, _line, out written))
            {
                if (_line.Length >= 1 << 28)
                {
                    throw new InvalidOperationException($"A record formats to more than {_line.Length} characters; {typeof(TFormat).Name}.TryFormat never succeeds.");
                }

                _line = new char[_line.Length * 2];
            }

            _writer.Write(_line.AsSpan(0, written));
            _writer.Write('\n');
        }

        /// <inheritdoc/>
        public void Flush() => _writer.Flush();

        /// <inheritdoc/>
        public void Finish()
        {
            _writer.Flush();
            _file.Flush(flushToDisk: true);
            _writer.Dispose();
            File.Move(_pendingPath, _finalPath, overwrite: true);
            _finished = true;
        }

        /// <inheritdoc/>
        public void Dispose()
        {
            if (!_finished)
            {
                // Not committed (failure or abort): the in-progress file stays hidden, so the output
                // never shows a partial result as complete.
                _writer.Dispose();
            }
        }
    }

    /// <summary>A sink that drops every record (benchmarks, tests, jobs run for their side effects).</summary>
    public sealed class DiscardSink<T> : ISink<T, DiscardWriter<T>>
    {
        /// <inheritdoc/>
        public DiscardWriter<T> CreateWriter(SinkContext context) => new();
    }

    /// <summary>Counts and drops records.</summary>
    public sealed class DiscardWriter<T> : ISinkWriter<T>
    {
        /// <summary>Records received.</summary>
        public long Count { get; private set; }

        /// <inheritdoc/>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Write(in T record) => Count++;

        /// <inheritdoc/>
        public void Flush()
        {
        }

        /// <inheritdoc/>
        public void Finish()
        {
        }

        /// <inheritdoc/>
        public void Dispose()
        {
        }
    }

    /// <summary>
    /// A sink that hands each subtask's records to a <see cref="CollectedOutput{T}"/> when the input
    /// ends (Flink's collect sink): for tests and small jobs that read results in the same process.
    /// </summary>
    public sealed class CollectSink<T> : ISink<T, CollectWriter<T>>
    {
        private readonly CollectedOutput<T> _output;

        /// <summary>Creates the sink.</summary>
        public CollectSink(CollectedOutput<T> output) => _output = output ?? throw new ArgumentNullException(nameof(output));

        /// <inheritdoc/>
        public CollectWriter<T> CreateWriter(SinkContext context) => new(_output, context.SubtaskIndex);
    }

    /// <summary>Buffers one subtask's records.</summary>
    public sealed class CollectWriter<T> : ISinkWriter<T>
    {
        private readonly CollectedOutput<T> _output;
        private readonly int _subtask;
        private readonly System.Collections.Generic.List<T> _records = new();

        internal CollectWriter(CollectedOutput<T> output, int subtask)
        {
            _output = output;
            _subtask = subtask;
        }

        /// <inheritdoc/>
        public void Write(in T record) => _records.Add(record);

        /// <inheritdoc/>
        public void Flush()
        {
        }

        /// <inheritdoc/>
        public void Finish() => _output.Add(_subtask, _records);

        /// <inheritdoc/>
        public void Dispose()
        {
        }
    }

    /// <summary>The records a <see cref="CollectSink{T}"/> received, per subtask, once they were committed.</summary>
    public sealed class CollectedOutput<T>
    {
        private readonly object _lock = new();
        private readonly System.Collections.Generic.SortedDictionary<int, T[]> _bySubtask = new();

        internal void Add(int subtask, System.Collections.Generic.List<T> records)
        {
            lock (_lock)
            {
                _bySubtask[subtask] = records.ToArray();
            }
        }

        /// <summary>All records, subtask by subtask, each subtask's in the order they were written.</summary>
        public T[] ToArray()
        {
            lock (_lock)
            {
                var all = new System.Collections.Generic.List<T>();
                foreach (T[] part in _bySubtask.Values)
                {
                    all.AddRange(part);
                }

                return all.ToArray();
            }
        }

        /// <summary>The records of one subtask.</summary>
        public T[] OfSubtask(int subtask)
        {
            lock (_lock)
            {
                return _bySubtask.TryGetValue(subtask, out T[]? records) ? records : Array.Empty<T>();
            }
        }

        /// <summary>Forgets everything collected.</summary>
        public void Clear()
        {
            lock (_lock)
            {
                _bySubtask.Clear();
            }
        }
    }
}
