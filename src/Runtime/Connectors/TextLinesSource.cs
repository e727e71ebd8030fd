using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using Microsoft.Win32.SafeHandles;
using Weir.Checkpointing.Snapshots;
using Weir.State;

namespace Weir.Connectors
{
    /// <summary>
    /// A bounded, replayable source of the lines of a text file, or of every file of a directory
    /// (recursively, ordered by ordinal path; files and directories whose names start with '.' or '_'
    /// are skipped). Lines are UTF-8 (a leading byte order mark is skipped) and end with <c>\n</c> or
    /// <c>\r\n</c>; the last line needs no newline.
    /// </summary>
    /// <remarks>
    /// <para><b>Splits.</b> The input is cut into splits: each file, and a large file into contiguous
    /// byte ranges, so that the splits number about the parallelism (no smaller than
    /// <see cref="MinSplitBytes"/>, no larger than <see cref="MaxSplitBytes"/>). Split <c>i</c> in
    /// file-then-offset order goes to subtask <c>i % parallelism</c>. A split owns every line that
    /// starts within its range (Hadoop's convention): a split that starts mid-line skips to the next
    /// line start, and its last line is read to its end even past the range. The plan is made once
    /// per source object from the file sizes, so the input must not change while it is read.</para>
    /// <para><b>Checkpoints.</b> When the job checkpoints, each reader registers its unfinished
    /// splits with the byte offset of the next unread line (state kind <c>source</c>, an
    /// <see cref="OperatorListState{T}"/> split evenly on rescale). Restoring resumes every split at
    /// its offset, so across a failure, and at another parallelism, every line is read once after
    /// the restored checkpoint's position.</para>
    /// <para><b>Rate.</b> With a rate, the subtasks together read at most that many lines per second:
    /// each subtask holds its share with a <see cref="TokenBucket"/> and, when it runs out, waits at
    /// most <see cref="MaxRateWait"/> and returns 0 so its subtask flushes and can take barriers.</para>
    /// </remarks>
    public sealed class TextLinesSource : ISource<string, TextLinesReader>
    {
        /// <summary>The longest a rate-limited <see cref="TextLinesReader.Read"/> waits before returning 0.</summary>
        public static readonly TimeSpan MaxRateWait = TimeSpan.FromMilliseconds(50);

        private readonly object _planLock = new();
        private (int Parallelism, TextFileSplit[] Splits)? _plan;

        /// <summary>Creates the source; <paramref name="ratePerSecond"/> 0 or null reads as fast as possible.</summary>
        public TextLinesSource(string path, double? ratePerSecond = null)
        {
            Path = path ?? throw new ArgumentNullException(nameof(path));
            if (ratePerSecond is double rate && (rate < 0 || double.IsNaN(rate) || double.IsInfinity(rate)))
            {
                throw new ArgumentOutOfRangeException(nameof(ratePerSecond), ratePerSecond, "A rate must be a finite number of lines per second, 0 or more (0 is unlimited).");
            }

            RatePerSecond = ratePerSecond is > 0 ? ratePerSecond : null;
        }

        /// <summary>The file or directory read.</summary>
        public string Path { get; }

        /// <summary>The most lines per second read by all subtasks together, or null when unlimited.</summary>
        public double? RatePerSecond { get; }

        /// <summary>The smallest split a file is cut into (64 KiB by default; at least 1).</summary>
        public long MinSplitBytes { get; init; } = 64 * 1024;

        /// <summary>The largest split (128 MiB by default): very large files give several splits per subtask.</summary>
        public long MaxSplitBytes { get; init; } = 128L * 1024 * 1024;

        /// <inheritdoc/>
        public bool IsBounded => true;

        /// <inheritdoc/>
        public TextLinesReader CreateReader(SourceContext context)
        {
            TextFileSplit[] splits = PlanFor(context.Parallelism);
            var mine = new List<TextFileSplit>();
            for (int i = context.SubtaskIndex; i < splits.Length; i += context.Parallelism)
            {
                mine.Add(splits[i]);
            }

            TokenBucket? rate = RatePerSecond is double total ? new TokenBucket(total / context.Parallelism) : null;
            var reader = new TextLinesReader(context.OperatorId, mine, rate, context.StopToken, context.Checkpoints is not null, context.Splits);
            context.Checkpoints?.Register(reader);
            return reader;
        }

        /// <summary>
        /// Cuts <paramref name="files"/> into splits for <paramref name="parallelism"/> subtasks:
        /// the split size is the total size over the parallelism, clamped to
        /// [<paramref name="minSplitBytes"/>, <paramref name="maxSplitBytes"/>]; each non-empty file is
        /// cut into ceil(size / split size) near-equal ranges.
        /// </summary>
        public static TextFileSplit[] PlanSplits(IReadOnlyList<string> files, int parallelism, long minSplitBytes, long maxSplitBytes)
        {
            ArgumentNullException.ThrowIfNull(files);
            ArgumentOutOfRangeException.ThrowIfLessThan(parallelism, 1);
            ArgumentOutOfRangeException.ThrowIfLessThan(minSplitBytes, 1);
            ArgumentOutOfRangeException.ThrowIfLessThan(maxSplitBytes, minSplitBytes);
            long[] sizes = files.Select(f => new FileInfo(f).Length).ToArray();
            long total = sizes.Sum();
            long splitSize = Math.Clamp((total + parallelism - 1) / parallelism, minSplitBytes, maxSplitBytes);
            var splits = new List<TextFileSplit>();
            for (int f = 0; f < files.Count; f++)
            {
                long size = sizes[f];
                if (size == 0)
                {
                    continue;
                }

                long count = (size + splitSize - 1) / splitSize;
                for (long k = 0; k < count; k++)
                {
                    long start = (long)((Int128)size * k / count);
                    long end = (long)((Int128)size * (k + 1) / count);
                    splits.Add(TextFileSplit.Create(files[f], start, end));
                }
            }

            return splits.ToArray();
        }

        /// <summary>The files a path stands for, in the order they are read.</summary>
        public static IReadOnlyList<string> ListFiles(string path)
        {
            if (File.Exists(path))
            {
                return new[] { System.IO.Path.GetFullPath(path) };
            }

            if (!Directory.Exists(path))
            {
                throw new FileNotFoundException($"Input '{path}' is neither a file nor a directory. Check the path given to the source.", path);
            }

            var root = new DirectoryInfo(path);
            return root.EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.Hidden })
                .Where(f => !IsHidden(root, f))
                .Select(f => f.FullName)
                .OrderBy(f => f, StringComparer.Ordinal)
                .ToArray();
        }

        private TextFileSplit[] PlanFor(int parallelism)
        {
            // Planned once per source object: every subtask of a run sees the same splits even if a
            // file's size is read at slightly different times.
            lock (_planLock)
            {
                if (_plan is not { } plan || plan.Parallelism != parallelism)
                {
                    plan = (parallelism, PlanSplits(ListFiles(Path), parallelism, MinSplitBytes, MaxSplitBytes));
                    _plan = plan;
                }

                return plan.Splits;
            }
        }

        private static bool IsHidden(DirectoryInfo root, FileInfo file)
        {
            for (FileSystemInfo? node = file; node is not null && node.FullName.Length > root.FullName.TrimEnd('/').Length; node = (node as FileInfo)?.Directory ?? (node as DirectoryInfo)?.Parent)
            {
                if (node.Name.StartsWith('.') || node.Name.StartsWith('_'))
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>
    /// A byte range of a text file and how far it has been read: the split owns the lines that start
    /// in [<see cref="Start"/>, <see cref="End"/>); <see cref="Offset"/> is where the next unread
    /// line starts, or, while <see cref="AtLineStart"/> is false, where to look for it (the split
    /// starts mid-file and has not been aligned to a line start yet).
    /// </summary>
    public readonly record struct TextFileSplit(string Path, long Start, long End, long Offset, bool AtLineStart)
    {
        /// <summary>A split not read yet.</summary>
        public static TextFileSplit Create(string path, long start, long end) => new(path, start, end, start, start == 0);

        /// <inheritdoc/>
        public override string ToString() => $"{Path} [{Start}, {End}) at {Offset}{(AtLineStart ? string.Empty : " (unaligned)")}";
    }

    /// <summary>Writes <see cref="TextFileSplit"/>s into checkpoints: the UTF-8 path, then the offsets little-endian.</summary>
    internal sealed class TextFileSplitSerializer : IStateSerializer<TextFileSplit>
    {
        public static TextFileSplitSerializer Instance { get; } = new();

        public void Serialize(in TextFileSplit value, IBufferWriter<byte> output)
        {
            int pathBytes = Encoding.UTF8.GetByteCount(value.Path);
            Span<byte> span = output.GetSpan(pathBytes + 25);
            BinaryPrimitives.WriteInt64LittleEndian(span, value.Start);
            BinaryPrimitives.WriteInt64LittleEndian(span[8..], value.End);
            BinaryPrimitives.WriteInt64LittleEndian(span[16..], value.Offset);
            span[24] = value.AtLineStart ? (byte)1 : (byte)0;
            Encoding.UTF8.GetBytes(value.Path, span[25..]);
            output.Advance(pathBytes + 25);
        }

        public TextFileSplit Deserialize(ReadOnlySpan<byte> input)
        {
            if (input.Length < 25 || input[24] > 1)
            {
                throw new InvalidDataException($"A text file split in a checkpoint is {input.Length} bytes, not a valid split.");
            }

            return new TextFileSplit(
                Encoding.UTF8.GetString(input[25..]),
                BinaryPrimitives.ReadInt64LittleEndian(input),
                BinaryPrimitives.ReadInt64LittleEndian(input[8..]),
                BinaryPrimitives.ReadInt64LittleEndian(input[16..]),
                input[24] == 1);
        }
    }

    /// <summary>
    /// Reads the lines of a subtask's splits, one after the other, decoding UTF-8 from its own
    /// 64 KiB buffer (one string per line, nothing else per line). Under checkpoints it is the
    /// subtask's <c>source</c> state: its unfinished splits and their offsets.
    /// </summary>
    public sealed class TextLinesReader : ISourceReader<string>, ICheckpointedState
    {
        private const int InitialBufferSize = 1 << 16;
        private const string StateName = "splits";

        private readonly string _operatorId;
        private readonly TokenBucket? _rate;
        private readonly CancellationToken _stop;
        private readonly OperatorListState<TextFileSplit>? _state;
        private readonly SourceSplits _timelines;
        private List<TextFileSplit> _splits;
        private int _head;

        // The event-time timeline of each split: its file's (pieces of one file are read in order).
        private int[] _timelineOf = Array.Empty<int>();

        // The split being read (_splits[_head]) once opened.
        private SafeFileHandle? _file;
        private TextFileSplit _split;
        private byte[] _buffer = Array.Empty<byte>();
        private long _bufferOffset; // file offset of _buffer[0]
        private int _position;      // next unread byte; _bufferOffset + _position is the next line start
        private int _length;
        private bool _endOfFile;

        internal TextLinesReader(string operatorId, List<TextFileSplit> splits, TokenBucket? rate, CancellationToken stop, bool checkpointed, SourceSplits? timelines = null)
        {
            _operatorId = operatorId;
            _splits = splits;
            _rate = rate;
            _stop = stop;
            _state = checkpointed ? new OperatorListState<TextFileSplit>(StateName, TextFileSplitSerializer.Instance) : null;
            _timelines = timelines ?? new SourceSplits();
            RegisterTimelines();
        }

        /// <summary>The file being read, or null.</summary>
        public string? CurrentFile => _file is null ? null : _split.Path;

        /// <summary>The splits not finished yet, the one being read first with its current offset.</summary>
        public IReadOnlyList<TextFileSplit> UnfinishedSplits
        {
            get
            {
                var result = new List<TextFileSplit>(_splits.Count - _head);
                for (int i = _head; i < _splits.Count; i++)
                {
                    result.Add(i == _head && _file is not null ? _split with { Offset = _bufferOffset + _position, AtLineStart = true } : _splits[i]);
                }

                return result;
            }
        }

        string ICheckpointedState.OperatorId => _operatorId;

        string ICheckpointedState.StateKind => "source";

        /// <inheritdoc/>
        public int Read(Span<string> buffer)
        {
            if (_head == _splits.Count)
            {
                return -1;
            }

            int wanted = buffer.Length;
            if (_rate is not null)
            {
                wanted = TakeTokens(wanted);
                if (wanted == 0)
                {
                    return 0;
                }
            }

            int count = 0;
            while (count < wanted)
            {
                if (_file is null)
                {
                    if (_head == _splits.Count)
                    {
                        break;
                    }

                    int timeline = _timelineOf[_head];
                    if (count > 0 && timeline != _timelines.Current)
                    {
                        // A batch holds the records of one file, so event time knows whose they are.
                        break;
                    }

                    Open(_splits[_head]);
                    _timelines.Enter(timeline);
                }

                if (TryReadLine(out string? line))
                {
                    buffer[count++] = line;
                }
                else
                {
                    CloseCurrent();
                    FinishTimelineIfLast(_head);
                    _head++;
                }
            }

            _rate?.Return(wanted - count);
            return count == 0 && _head == _splits.Count ? -1 : count;
        }

        /// <inheritdoc/>
        public void Dispose() => CloseCurrent();

        IStateSnapshot ICheckpointedState.Snapshot(long checkpointId)
        {
            OperatorListState<TextFileSplit> state = _state ?? throw new InvalidOperationException($"Source '{_operatorId}' was created without checkpoints and cannot be snapshotted.");
            var splits = UnfinishedSplits;
            state.Clear();
            foreach (TextFileSplit split in splits)
            {
                state.Add(split);
            }

            return ConnectorState.Capture(state, "source");
        }

        void ICheckpointedState.Restore(RestoredOperatorState state)
        {
            OperatorListState<TextFileSplit> list = _state ?? throw new InvalidOperationException($"Source '{_operatorId}' was created without checkpoints and cannot be restored.");
            ConnectorState.Restore(list, state, "source");
            CloseCurrent();
            _splits = new List<TextFileSplit>(list.Items.ToArray());
            _head = 0;
            RegisterTimelines();
        }

        /// <summary>
        /// Tells event time which files this reader will read: each file is a timeline with its own
        /// watermark, and one not read yet holds the watermark back until its turn (files read one
        /// after another may cover the same hours; none of them is late because of the order).
        /// </summary>
        private void RegisterTimelines()
        {
            _timelines.Reset();
            _timelines.ReadsInOrder = true;
            _timelineOf = new int[_splits.Count];
            for (int i = 0; i < _splits.Count; i++)
            {
                _timelineOf[i] = _timelines.Register(_splits[i].Path);
            }
        }

        private void FinishTimelineIfLast(int split)
        {
            int timeline = _timelineOf[split];
            for (int later = split + 1; later < _splits.Count; later++)
            {
                if (_timelineOf[later] == timeline)
                {
                    return;
                }
            }

            _timelines.Finish(timeline);
        }

        void ICheckpointedState.NotifyCheckpointComplete(long checkpointId)
        {
            // Nothing to release: offsets are re-captured at every snapshot.
        }

        void ICheckpointedState.NotifyCheckpointAborted(long checkpointId)
        {
        }

        private int TakeTokens(int wanted)
        {
            TokenBucket rate = _rate!;
            int taken = rate.TryTake(wanted);
            if (taken == 0)
            {
                // Out of tokens: wait for the next one, but never long, so the subtask can flush and
                // take a barrier in between; a stop wakes the wait at once.
                TimeSpan wait = rate.TimeUntilNextToken();
                if (wait > TextLinesSource.MaxRateWait)
                {
                    wait = TextLinesSource.MaxRateWait;
                }

                if (wait > TimeSpan.Zero && !_stop.IsCancellationRequested)
                {
                    _stop.WaitHandle.WaitOne(wait);
                }

                taken = rate.TryTake(wanted);
            }

            return taken;
        }

        private void Open(TextFileSplit split)
        {
            _file = File.OpenHandle(split.Path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
            _split = split;
            if (_buffer.Length == 0)
            {
                _buffer = new byte[InitialBufferSize];
            }

            _endOfFile = false;
            _position = 0;
            _length = 0;
            if (split.AtLineStart)
            {
                _bufferOffset = split.Offset;
                return;
            }

            // Mid-file: the first line this split owns starts after the first '\n' at or after
            // Offset - 1 (a line starting exactly at Offset belongs to it: byte Offset - 1 is then '\n').
            _bufferOffset = split.Offset - 1;
            while (true)
            {
                int newline = _buffer.AsSpan(_position, _length - _position).IndexOf((byte)'\n');
                if (newline >= 0)
                {
                    _position += newline + 1;
                    return;
                }

                _position = _length;
                if (_endOfFile)
                {
                    return;
                }

                Fill();
            }
        }

        private bool TryReadLine([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? line)
        {
            while (true)
            {
                if (_bufferOffset + _position >= _split.End)
                {
                    line = null;
                    return false; // the next line starts in the next split
                }

                // The first line of a file starts at offset 0 even when it begins with a byte order
                // mark: the mark is dropped from its text, so ownership by offset is unaffected.
                bool fileStart = _bufferOffset + _position == 0;
                ReadOnlySpan<byte> rest = _buffer.AsSpan(_position, _length - _position);
                int newline = rest.IndexOf((byte)'\n');
                if (newline >= 0)
                {
                    line = Decode(fileStart ? WithoutByteOrderMark(rest[..newline]) : rest[..newline]);
                    _position += newline + 1;
                    return true;
                }

                if (_endOfFile)
                {
                    if (fileStart)
                    {
                        rest = WithoutByteOrderMark(rest);
                    }

                    _position = _length;
                    if (rest.IsEmpty)
                    {
                        line = null;
                        return false;
                    }

                    line = Decode(rest); // the last line, without a newline
                    return true;
                }

                Fill();
            }
        }

        private static ReadOnlySpan<byte> WithoutByteOrderMark(ReadOnlySpan<byte> line)
            => line.StartsWith("\uFEFF"u8) ? line[3..] : line;

        private static string Decode(ReadOnlySpan<byte> line)
        {
            if (!line.IsEmpty && line[^1] == (byte)'\r')
            {
                line = line[..^1];
            }

            return Encoding.UTF8.GetString(line);
        }

        // Keeps the unread bytes, moved to the front (the buffer doubles when one line fills it), and
        // reads more after them.
        private void Fill()
        {
            if (_position > 0)
            {
                _buffer.AsSpan(_position, _length - _position).CopyTo(_buffer);
                _bufferOffset += _position;
                _length -= _position;
                _position = 0;
            }

            if (_length == _buffer.Length)
            {
                if (_buffer.Length >= Array.MaxLength / 2)
                {
                    throw new InvalidDataException($"A line of '{_split.Path}' at byte {_bufferOffset} is longer than {_buffer.Length} bytes.");
                }

                Array.Resize(ref _buffer, _buffer.Length * 2);
            }

            int read;
            try
            {
                read = RandomAccess.Read(_file!, _buffer.AsSpan(_length), _bufferOffset + _length);
            }
            catch (IOException error)
            {
                throw new IOException($"Cannot read '{_split.Path}' at byte {_bufferOffset + _length}: {error.Message}", error);
            }

            if (read == 0)
            {
                _endOfFile = true;
            }
            else
            {
                _length += read;
            }
        }

        private void CloseCurrent()
        {
            _file?.Dispose();
            _file = null;
        }
    }
}
