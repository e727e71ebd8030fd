using System;
using System.IO;
using System.Linq;
using System.Threading;
using Weir.Connectors;
using Xunit;

namespace Weir.Runtime.Tests;

public sealed class ConnectorTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "weir-conn-" + Guid.NewGuid().ToString("N"));

    public ConnectorTests() => Directory.CreateDirectory(_root);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Text_file_sink_keeps_output_hidden_until_finished()
    {
        var sink = Sinks.TextLines(_root);
        using (TextFileWriter<string, StringFormat> writer = sink.CreateWriter(new SinkContext("out", 3, 4)))
        {
            writer.Write("first");
            writer.Write(new string('x', 1000));
            writer.Flush();
            Assert.Equal(new[] { ".part-0003.txt.inprogress" }, Directory.GetFiles(_root).Select(Path.GetFileName));
            writer.Finish();
        }

        Assert.Equal(new[] { "part-0003.txt" }, Directory.GetFiles(_root).Select(Path.GetFileName));
        Assert.Equal(new[] { "first", new string('x', 1000) }, File.ReadAllLines(Path.Combine(_root, "part-0003.txt")));
    }

    [Fact]
    public void A_sink_that_never_finishes_publishes_nothing()
    {
        using (var writer = Sinks.TextLines(_root).CreateWriter(new SinkContext("out", 0, 1)))
        {
            writer.Write("partial");
        }

        Assert.Empty(Directory.GetFiles(_root, "part-*"));
    }

    [Fact]
    public void Text_source_splits_files_among_subtasks_and_reads_every_line_once()
    {
        for (int f = 0; f < 5; f++)
        {
            File.WriteAllLines(Path.Combine(_root, $"f{f}.txt"), Enumerable.Range(0, 1000).Select(i => $"{f}:{i}"));
        }

        var source = Sources.TextLines(_root);
        var all = Enumerable.Range(0, 2).SelectMany(subtask =>
        {
            using TextLinesReader reader = source.CreateReader(new SourceContext("lines", subtask, 2, CancellationToken.None));
            var lines = new System.Collections.Generic.List<string>();
            var buffer = new string[64];
            int n;
            while ((n = reader.Read(buffer)) >= 0)
            {
                lines.AddRange(buffer.Take(n));
            }

            return lines;
        }).ToList();

        Assert.Equal(5000, all.Count);
        Assert.Equal(5000, all.Distinct().Count());
    }

    [Fact]
    public void A_missing_input_path_is_reported_with_the_path()
    {
        var error = Assert.Throws<FileNotFoundException>(() => TextLinesSource.ListFiles(Path.Combine(_root, "nope")));
        Assert.Contains("nope", error.Message);
    }

    [Fact]
    public void Generator_source_splits_indices_into_contiguous_ranges()
    {
        var source = Sources.Generate<long, IndexGenerator>(10);
        long[][] parts = Enumerable.Range(0, 3).Select(subtask =>
        {
            var reader = source.CreateReader(new SourceContext("g", subtask, 3, CancellationToken.None));
            var buffer = new long[100];
            int n = reader.Read(buffer);
            Assert.Equal(-1, reader.Read(buffer));
            return buffer.Take(n).ToArray();
        }).ToArray();

        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), parts.SelectMany(p => p));
        Assert.All(parts, p => Assert.InRange(p.Length, 3, 4));
    }

    private struct IndexGenerator : IRecordGenerator<long>
    {
        public long Generate(long index) => index;
    }
}
