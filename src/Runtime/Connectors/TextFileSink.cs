using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Runtime.CompilerServices;
using System.Text;
using Weir.Checkpointing.Storage;
using Weir.State;

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
    /// A sink writing one UTF-8 line per record into a directory, never showing a partial result:
    /// records go to hidden files (names starting with '.'), which are flushed to disk (fsync) and
    /// renamed to visible names, with the directory fsynced, only once they are committed. Files
    /// whose names start with '.' or '_' are not part of the output.
    /// </summary>
    /// <remarks>
    /// <para><b>Without checkpoints</b> each subtask writes <c>.part-NNNN.txt.inprogress</c> and, when
    /// its input ends, commits it as <c>part-NNNN.txt</c>; a failed job publishes nothing (a writer
    /// disposed before <c>Finish</c> deletes its in-progress file).</para>
    /// <para><b>Under checkpoints</b> (exactly-once, two-phase commit on
    /// <see cref="TwoPhaseCommitSinkWriter{T, TTransaction}"/>) every checkpoint interval is one
    /// transaction: a hidden <c>.part-NNNN-ATTEMPT-SEQ.txt.inprogress</c> file, pre-committed (fsync,
    /// closed) at the checkpoint's barrier and renamed to <c>part-NNNN-ATTEMPT-SEQ.txt</c> when the
    /// checkpoint completes; a checkpoint interval without records writes no file. After a failure
    /// the restore commits the transactions of the restored checkpoint (a file already renamed
    /// counts as committed) and deletes hidden files of earlier attempts that the checkpoint does not
    /// reference, so the visible files hold every record exactly once.</para>
    /// </remarks>
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
            ArgumentNullException.ThrowIfNull(context);
            System.IO.Directory.CreateDirectory(Directory);
            return new TextFileWriter<T, TFormat>(Path.GetFullPath(Directory), context);
        }
    }

    /// <summary>One transaction of a <see cref="TextFileSink{T, TFormat}"/>: its hidden file and the visible name it commits to, both in the sink's directory.</summary>
    public readonly record struct TextFileTransaction(string PendingName, string FinalName);

    /// <summary>Writes a <see cref="TextFileTransaction"/> as its two names, each UTF-8 with a 4-byte length.</summary>
    internal sealed class TextFileTransactionSerializer : IStateSerializer<TextFileTransaction>
    {
        public static TextFileTransactionSerializer Instance { get; } = new();

        public void Serialize(in TextFileTransaction value, IBufferWriter<byte> output)
        {
            WriteString(value.PendingName, output);
            WriteString(value.FinalName, output);
        }

        public TextFileTransaction Deserialize(ReadOnlySpan<byte> input)
        {
            string pending = ReadString(ref input);
            string final = ReadString(ref input);
            if (!input.IsEmpty)
            {
                throw new InvalidDataException($"A text file transaction in a checkpoint has {input.Length} bytes after its names.");
            }

            return new TextFileTransaction(pending, final);
        }

        private static void WriteString(string value, IBufferWriter<byte> output)
        {
            int length = Encoding.UTF8.GetByteCount(value);
            Span<byte> span = output.GetSpan(4 + length);
            BinaryPrimitives.WriteInt32LittleEndian(span, length);
            Encoding.UTF8.GetBytes(value, span[4..]);
            output.Advance(4 + length);
        }

        private static string ReadString(ref ReadOnlySpan<byte> input)
        {
            int length = input.Length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(input) : -1;
            if (length < 0 || length > input.Length - 4)
            {
                throw new InvalidDataException("A text file transaction in a checkpoint is truncated.");
            }

            string value = Encoding.UTF8.GetString(input.Slice(4, length));
            input = input[(4 + length)..];
            return value;
        }
    }

    /// <summary>Writes one subtask's lines, one transaction (file) at a time.</summary>
    public sealed class TextFileWriter<T, TFormat> : TwoPhaseCommitSinkWriter<T, TextFileTransaction>
        where TFormat : struct, ITextFormat<T>
    {
        private const string PendingSuffix = ".inprogress";

        private readonly string _directory;
        private readonly string _subtask;
        private readonly string? _attempt;
        private FileStream? _file;
        private string? _openPending;
        private StreamWriter? _writer;
        private long _records;
        private long _sequence;
        private char[] _line = new char[256];
        private TFormat _format = default;

        internal TextFileWriter(string directory, SinkContext context)
            : base(context, TextFileTransactionSerializer.Instance)
        {
            _directory = directory;
            _subtask = context.SubtaskIndex.ToString("D4", CultureInfo.InvariantCulture);
            _attempt = context.Checkpoints?.AttemptId;
            if (_attempt is not null && (_attempt.Length == 0 || !_attempt.AsSpan().ContainsOnlyLettersAndDigits()))
            {
                throw new ArgumentException($"Attempt ID '{_attempt}' must be letters and digits: it is part of the sink's file names.", nameof(context));
            }

            Start();
        }

        /// <summary>The output directory.</summary>
        public string Directory => _directory;

        /// <inheritdoc/>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public override void Write(in T record)
        {
            if (_format.TryFormat(record, _line, out int written))
            {
                StreamWriter writer = _writer!;
                writer.Write(_line.AsSpan(0, written));
                writer.Write('\n');
            }
            else
            {
                WriteLong(record);
            }

            _records++;
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

            _writer!.Write(_line.AsSpan(0, written));
            _writer.Write('\n');
        }

        /// <inheritdoc/>
        public override void Flush() => _writer?.Flush();

        /// <inheritdoc/>
        protected override TextFileTransaction BeginTransaction()
        {
            TextFileTransaction transaction;
            FileMode mode;
            if (_attempt is null)
            {
                string name = $"part-{_subtask}.txt";
                transaction = new TextFileTransaction("." + name + PendingSuffix, name);
                mode = FileMode.Create;
            }
            else
            {
                string name = $"part-{_subtask}-{_attempt}-{_sequence.ToString("D6", CultureInfo.InvariantCulture)}.txt";
                _sequence++;
                transaction = new TextFileTransaction("." + name + PendingSuffix, name);
                mode = FileMode.CreateNew; // names are unique per attempt: an existing file is a bug
            }

            _file = new FileStream(Path.Combine(_directory, transaction.PendingName), mode, FileAccess.Write, FileShare.Read, bufferSize: 1);
            _writer = new StreamWriter(_file, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), bufferSize: 1 << 16) { NewLine = "\n" };
            _openPending = transaction.PendingName;
            _records = 0;
            return transaction;
        }

        /// <inheritdoc/>
        protected override void PreCommit(TextFileTransaction transaction)
        {
            StreamWriter writer = _writer ?? throw new InvalidOperationException($"Transaction '{transaction.PendingName}' in '{_directory}' is not the open one.");
            try
            {
                writer.Flush();
                _file!.Flush(flushToDisk: true);
            }
            catch (IOException error)
            {
                throw new IOException($"Cannot flush '{Path.Combine(_directory, transaction.PendingName)}' to disk: {error.Message}", error);
            }
            finally
            {
                CloseFile();
            }
        }

        /// <inheritdoc/>
        protected override void Commit(TextFileTransaction transaction)
        {
            string pending = Path.Combine(_directory, transaction.PendingName);
            string final = Path.Combine(_directory, transaction.FinalName);
            if (File.Exists(pending))
            {
                File.Move(pending, final, overwrite: true);
            }
            else if (!File.Exists(final))
            {
                throw new IOException($"Cannot commit '{pending}': neither it nor '{final}' exists, so the records of this pre-committed transaction are lost. Was the output directory changed outside the job?");
            }

            // Also when the file was already renamed: a crash may have come before the directory was flushed.
            DirectoryDurability.Flush(_directory);
        }

        /// <inheritdoc/>
        protected override void Abort(TextFileTransaction transaction)
        {
            if (_openPending == transaction.PendingName)
            {
                CloseFile();
            }

            File.Delete(Path.Combine(_directory, transaction.PendingName));
        }

        /// <inheritdoc/>
        protected override bool IsEmpty(TextFileTransaction transaction) => _records == 0;

        /// <summary>
        /// Deletes hidden files <c>.part-NNNN-ATTEMPT-SEQ.txt.inprogress</c> of other attempts that the
        /// restored checkpoint does not reference, the files of old subtask <c>NNNN</c> by new subtask
        /// <c>NNNN % parallelism</c>.
        /// </summary>
        protected override void AbortLeftovers(IReadOnlyCollection<TextFileTransaction> referenced)
        {
            var keep = new HashSet<string>(StringComparer.Ordinal);
            foreach (TextFileTransaction transaction in referenced)
            {
                keep.Add(transaction.PendingName);
            }

            foreach (string path in System.IO.Directory.EnumerateFiles(_directory, ".part-*" + PendingSuffix))
            {
                string name = Path.GetFileName(path);
                if (!TryParsePendingName(name, out int subtask, out string? attempt)
                    || attempt == _attempt
                    || keep.Contains(name)
                    || subtask % Context.Parallelism != Context.SubtaskIndex)
                {
                    continue;
                }

                File.Delete(path);
            }
        }

        /// <inheritdoc/>
        protected override void Dispose(bool disposing) => CloseFile();

        // ".part-NNNN-ATTEMPT-SEQ.txt.inprogress"
        private static bool TryParsePendingName(string name, out int subtask, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? attempt)
        {
            subtask = 0;
            attempt = null;
            const string Prefix = ".part-";
            const string Suffix = ".txt" + PendingSuffix;
            if (!name.StartsWith(Prefix, StringComparison.Ordinal) || !name.EndsWith(Suffix, StringComparison.Ordinal))
            {
                return false;
            }

            string[] parts = name[Prefix.Length..^Suffix.Length].Split('-');
            if (parts.Length != 3
                || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out subtask)
                || parts[1].Length == 0
                || !parts[1].AsSpan().ContainsOnlyLettersAndDigits()
                || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                return false;
            }

            attempt = parts[1];
            return true;
        }

        private void CloseFile()
        {
            _writer?.Dispose();
            _file?.Dispose();
            _writer = null;
            _file = null;
            _openPending = null;
        }
    }

    /// <summary>Letter and digit checks for names that become parts of file names.</summary>
    internal static class NameChecks
    {
        public static bool ContainsOnlyLettersAndDigits(this ReadOnlySpan<char> value)
        {
            foreach (char c in value)
            {
                if (!char.IsAsciiLetterOrDigit(c))
                {
                    return false;
                }
            }

            return true;
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
