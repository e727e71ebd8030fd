using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using Weir.Checkpointing.Snapshots;
using Weir.Checkpointing.Storage;
using Weir.Connectors;
using Xunit;

namespace Weir.Runtime.Tests;

public sealed class ReplayableTextSourceTests : IDisposable
{
    private readonly ConnectorCheckpointHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    private string Input => Path.Combine(_harness.Root, "input");

    [Fact]
    public void Splits_of_one_file_at_parallelism_two_give_both_subtasks_lines_and_cover_every_line_once()
    {
        // A BOM, \r\n and \n endings, long lines that cross split boundaries, an empty line and a
        // last line without a newline.
        string[] lines = Enumerable.Range(0, 400).Select(i => i % 37 == 0 ? new string((char)('a' + (i % 26)), 500 + i) : i % 50 == 7 ? string.Empty : $"line {i} ünïcode").ToArray();
        WriteFile("one.txt", lines, withBom: true, crlfEvery: 3, trailingNewline: false);
        var source = new TextLinesSource(Input) { MinSplitBytes = 1 };

        List<string>[] read = Enumerable.Range(0, 2).Select(subtask => ReadAll(source.CreateReader(Context(subtask, 2)))).ToArray();

        Assert.All(read, part => Assert.NotEmpty(part));
        Assert.Equal(lines, read[0].Concat(read[1]));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(64)]
    public void Every_split_plan_reads_every_line_once_in_order(int parallelism)
    {
        string[] lines = Enumerable.Range(0, 300).Select(i => new string('x', i % 23) + i).ToArray();
        WriteFile("a.txt", lines.Take(200), withBom: false, crlfEvery: 2, trailingNewline: true);
        WriteFile("b.txt", lines.Skip(200), withBom: true, crlfEvery: 0, trailingNewline: false);
        WriteFile("empty.txt", [], withBom: false, crlfEvery: 0, trailingNewline: false);

        TextFileSplit[] splits = TextLinesSource.PlanSplits(TextLinesSource.ListFiles(Input), parallelism, 1, long.MaxValue);
        var all = new List<string>();
        foreach (TextFileSplit split in splits)
        {
            all.AddRange(ReadAll(new TextLinesReader("lines", [split], null, CancellationToken.None, checkpointed: false)));
        }

        Assert.Equal(lines, all);
    }

    [Fact]
    public void A_split_starting_exactly_at_a_line_start_owns_that_line()
    {
        WriteFile("f.txt", ["ab", "cd", "ef"], withBom: false, crlfEvery: 0, trailingNewline: true);
        string file = Path.Combine(Input, "f.txt");

        // "ab\n" is bytes 0-2, "cd\n" 3-5: a split [3, 6) owns exactly "cd"; [0, 3) exactly "ab".
        Assert.Equal(["ab"], ReadAll(new TextLinesReader("lines", [TextFileSplit.Create(file, 0, 3)], null, CancellationToken.None, false)));
        Assert.Equal(["cd"], ReadAll(new TextLinesReader("lines", [TextFileSplit.Create(file, 3, 6)], null, CancellationToken.None, false)));
        Assert.Equal(["cd", "ef"], ReadAll(new TextLinesReader("lines", [TextFileSplit.Create(file, 1, 9)], null, CancellationToken.None, false)));
    }

    [Fact]
    public void The_first_line_after_a_byte_order_mark_belongs_to_the_split_at_offset_zero_however_small()
    {
        WriteFile("bom.txt", ["first", "second"], withBom: true, crlfEvery: 0, trailingNewline: false);
        WriteFile("only-bom.txt", [], withBom: true, crlfEvery: 0, trailingNewline: false);
        string file = Path.Combine(Input, "bom.txt");
        long length = new FileInfo(file).Length;

        // The BOM is bytes 0-2: a split ending inside it still owns the first line.
        Assert.Equal(["first"], ReadAll(new TextLinesReader("lines", [TextFileSplit.Create(file, 0, 2)], null, CancellationToken.None, false)));
        Assert.Equal(["second"], ReadAll(new TextLinesReader("lines", [TextFileSplit.Create(file, 2, length)], null, CancellationToken.None, false)));
        Assert.Empty(ReadAll(new TextLinesReader("lines", [TextFileSplit.Create(Path.Combine(Input, "only-bom.txt"), 0, 3)], null, CancellationToken.None, false)));
    }

    [Fact]
    public void Reading_lines_allocates_nothing_but_the_line_strings()
    {
        // Empty lines decode to string.Empty, so in steady state a read allocates nothing at all.
        Directory.CreateDirectory(Input);
        File.WriteAllBytes(Path.Combine(Input, "empty-lines.txt"), Enumerable.Repeat((byte)'\n', 1 << 20).ToArray());
        using TextLinesReader reader = Sources.TextLines(Input).CreateReader(Context(0, 1));
        var buffer = new string[1024];
        Assert.Equal(buffer.Length, reader.Read(buffer)); // warm-up: opens the file, sizes the buffer

        long before = GC.GetAllocatedBytesForCurrentThread();
        long lines = 0;
        for (int i = 0; i < 200; i++)
        {
            lines += reader.Read(buffer);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(200 * 1024, lines);
        Assert.Equal(0, allocated);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(1, 2)]
    [InlineData(2, 1)]
    [InlineData(3, 2)]
    public void A_restored_source_resumes_mid_file_and_reads_each_line_exactly_once(int oldParallelism, int newParallelism)
    {
        string[] lines = Enumerable.Range(0, 5000).Select(i => $"record {i} {new string('y', i % 17)}").ToArray();
        WriteFile("big.txt", lines.Take(3000), withBom: true, crlfEvery: 5, trailingNewline: true);
        WriteFile("small.txt", lines.Skip(3000), withBom: false, crlfEvery: 0, trailingNewline: false);
        var source = new TextLinesSource(Input) { MinSplitBytes = 1 };

        // First attempt: every subtask reads a few batches, then the checkpoint is taken.
        var registered = new List<ICheckpointedState>();
        TextLinesReader[] first = Enumerable.Range(0, oldParallelism)
            .Select(s => source.CreateReader(Context(s, oldParallelism, ConnectorCheckpointHarness.Participation("a1", registered))))
            .ToArray();
        Assert.Equal(first, registered);
        var beforeCheckpoint = new List<string>();
        foreach (TextLinesReader reader in first)
        {
            beforeCheckpoint.AddRange(ReadBatches(reader, batches: 3, batchSize: 100));
        }

        CompletedCheckpoint checkpoint = _harness.Checkpoint(registered);

        // Lines read after the checkpoint are lost with the failed attempt and must be read again.
        foreach (TextLinesReader reader in first)
        {
            ReadBatches(reader, batches: 2, batchSize: 100);
            reader.Dispose();
        }

        var restoredRegistered = new List<ICheckpointedState>();
        TextLinesReader[] second = Enumerable.Range(0, newParallelism)
            .Select(s => new TextLinesSource(Input) { MinSplitBytes = 1 }.CreateReader(Context(s, newParallelism, ConnectorCheckpointHarness.Participation("a2", restoredRegistered))))
            .ToArray();
        for (int s = 0; s < newParallelism; s++)
        {
            _harness.Restore(checkpoint, second[s], s, newParallelism);
        }

        // At least one restored split resumes inside its range, past a line already read.
        Assert.Contains(second.SelectMany(r => r.UnfinishedSplits), split => split.Offset > split.Start && split.AtLineStart);
        var afterRestore = second.SelectMany(r => ReadAll(r)).ToList();

        Assert.Equal(lines.Length, beforeCheckpoint.Count + afterRestore.Count);
        Assert.Equal(lines.OrderBy(l => l, StringComparer.Ordinal), beforeCheckpoint.Concat(afterRestore).OrderBy(l => l, StringComparer.Ordinal));
    }

    [Fact]
    public void A_source_restored_after_it_finished_reads_nothing_more()
    {
        WriteFile("f.txt", ["1", "2", "3"], withBom: false, crlfEvery: 0, trailingNewline: true);
        var registered = new List<ICheckpointedState>();
        TextLinesReader reader = Sources.TextLines(Input).CreateReader(Context(0, 1, ConnectorCheckpointHarness.Participation("a1", registered)));
        Assert.Equal(["1", "2", "3"], ReadAll(reader));
        CompletedCheckpoint checkpoint = _harness.Checkpoint(registered);

        TextLinesReader restored = Sources.TextLines(Input).CreateReader(Context(0, 1, ConnectorCheckpointHarness.Participation("a2", [])));
        _harness.Restore(checkpoint, restored, 0, 1);

        Assert.Empty(restored.UnfinishedSplits);
        Assert.Equal(-1, restored.Read(new string[8]));
    }

    [Fact]
    public void Token_bucket_grants_the_rate_from_elapsed_time_without_drift()
    {
        var clock = new ManualClock();
        var bucket = new TokenBucket(1000, clock); // capacity 100 (0.1 s of rate)

        Assert.Equal(100, bucket.Capacity);
        Assert.Equal(100, bucket.TryTake(500)); // starts full
        Assert.Equal(0, bucket.TryTake(1));
        Assert.Equal(TimeSpan.FromMilliseconds(1), bucket.TimeUntilNextToken());

        clock.Advance(TimeSpan.FromMilliseconds(10));
        Assert.Equal(10, bucket.TryTake(500));

        // 1000 steps of 1.5 ms grant 1500 tokens in total: fractions carry over, nothing is lost or gained.
        long granted = 0;
        for (int i = 0; i < 1000; i++)
        {
            clock.Advance(TimeSpan.FromTicks(15_000));
            granted += bucket.TryTake(int.MaxValue);
        }

        Assert.InRange(granted, 1499, 1500);

        // A long pause refills only up to the capacity (no burst beyond 0.1 s of rate).
        clock.Advance(TimeSpan.FromSeconds(60));
        Assert.Equal(100, bucket.TryTake(int.MaxValue));

        // Unused tokens given back are available again, still capped.
        bucket.Return(30);
        Assert.Equal(30, bucket.TryTake(int.MaxValue));
    }

    [Fact]
    public void Token_bucket_below_one_record_per_interval_still_grants_whole_records()
    {
        var clock = new ManualClock();
        var bucket = new TokenBucket(0.5, clock); // one record every 2 s; capacity is one record

        Assert.Equal(1, bucket.TryTake(10));
        clock.Advance(TimeSpan.FromSeconds(1.5));
        Assert.Equal(0, bucket.TryTake(10));
        Assert.Equal(TimeSpan.FromSeconds(0.5), bucket.TimeUntilNextToken());
        clock.Advance(TimeSpan.FromSeconds(0.5));
        Assert.Equal(1, bucket.TryTake(10));
    }

    [Fact]
    public void A_rate_limited_reader_returns_zero_instead_of_sleeping_until_the_next_record()
    {
        WriteFile("f.txt", ["1", "2", "3"], withBom: false, crlfEvery: 0, trailingNewline: true);
        var source = Sources.TextLines(Input, ratePerSecond: 0.2); // one line every 5 s
        using TextLinesReader reader = source.CreateReader(Context(0, 1));
        var buffer = new string[8];

        Assert.Equal(1, reader.Read(buffer)); // the full bucket holds one line
        Assert.Equal("1", buffer[0]);
        Assert.Equal(0, reader.Read(buffer)); // waits at most TextLinesSource.MaxRateWait, then yields
    }

    [Fact]
    public void Rate_zero_or_null_is_unlimited_and_negative_is_refused()
    {
        Assert.Null(Sources.TextLines(Input, 0).RatePerSecond);
        Assert.Null(Sources.TextLines(Input, null).RatePerSecond);
        Assert.Equal(10, Sources.TextLines(Input, 10).RatePerSecond);
        Assert.Throws<ArgumentOutOfRangeException>(() => Sources.TextLines(Input, -1));
    }

    private static SourceContext Context(int subtask, int parallelism, CheckpointParticipation? checkpoints = null)
        => new("lines", subtask, parallelism, CancellationToken.None, checkpoints);

    private static List<string> ReadAll(TextLinesReader reader)
    {
        var lines = new List<string>();
        var buffer = new string[37];
        int n;
        while ((n = reader.Read(buffer)) >= 0)
        {
            lines.AddRange(buffer.Take(n));
        }

        return lines;
    }

    private static List<string> ReadBatches(TextLinesReader reader, int batches, int batchSize)
    {
        var lines = new List<string>();
        var buffer = new string[batchSize];
        for (int i = 0; i < batches; i++)
        {
            int n = reader.Read(buffer);
            if (n < 0)
            {
                break;
            }

            lines.AddRange(buffer.Take(n));
        }

        return lines;
    }

    private void WriteFile(string name, IEnumerable<string> lines, bool withBom, int crlfEvery, bool trailingNewline)
    {
        Directory.CreateDirectory(Input);
        var text = new StringBuilder();
        string[] all = lines.ToArray();
        for (int i = 0; i < all.Length; i++)
        {
            text.Append(all[i]);
            if (i < all.Length - 1 || trailingNewline)
            {
                text.Append(crlfEvery > 0 && i % crlfEvery == 0 ? "\r\n" : "\n");
            }
        }

        byte[] body = Encoding.UTF8.GetBytes(text.ToString());
        File.WriteAllBytes(Path.Combine(Input, name), withBom ? [0xEF, 0xBB, 0xBF, .. body] : body);
    }

    /// <summary>A clock that moves only when told (Stopwatch-like ticks of 100 ns).</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _ticks = 1_000_000;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }
}
