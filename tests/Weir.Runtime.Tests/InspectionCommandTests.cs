using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Linq;
using System.Text.Json;
using Weir.Checkpointing.Coordinator;
using Weir.Checkpointing.Storage;
using Weir.Execution;
using Weir.Hosting;
using WordCount;
using Xunit;

namespace Weir.Runtime.Tests;

/// <summary>
/// The read-only commands of a job binary (<c>checkpoints</c>, <c>inspect</c>) against the checkpoints
/// of a real WordCount run, invoked through the job's command line.
/// </summary>
public sealed class InspectionCommandTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "weir-inspect-" + Guid.NewGuid().ToString("N"));
    private readonly string _checkpoints;
    private readonly Dictionary<string, long> _expectedCounts = new(StringComparer.Ordinal);

    public InspectionCommandTests()
    {
        _checkpoints = Path.Combine(_root, "checkpoints");
        string input = Path.Combine(_root, "in");
        Directory.CreateDirectory(input);
        var random = new Random(5);
        var lines = new List<string>();
        for (int i = 0; i < 4000; i++)
        {
            string[] words = Enumerable.Range(0, 4).Select(_ => "w" + random.Next(300)).ToArray();
            foreach (string word in words)
            {
                _expectedCounts[word] = _expectedCounts.GetValueOrDefault(word) + 1;
            }

            lines.Add(string.Join(' ', words));
        }

        File.WriteAllLines(Path.Combine(input, "part-0.txt"), lines);
        var checkpointing = new CheckpointingOptions(
            _checkpoints,
            new CheckpointOptions { Interval = TimeSpan.FromMilliseconds(25) },
            new CheckpointRetention { RetainedCheckpoints = 3 });
        JobResult result = new LocalExecutor().Execute(
            WordCountJob.CreatePlan(input, Path.Combine(_root, "out"), 4_000),
            new ExecutionOptions(Parallelism: 2, Checkpointing: checkpointing));
        Assert.True(result.Completed);
    }

    private string JobDirectory => Path.Combine(_checkpoints, "word-count");

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public void CheckpointsListsRetainedCheckpointsNewestFirstWithSizesAndTheOneARestartUses()
    {
        (int exit, string output, _) = Invoke("checkpoints", "--checkpoint-dir", _checkpoints, "--json");

        Assert.Equal(JobHost.ExitSuccess, exit);
        using JsonDocument json = JsonDocument.Parse(output);
        Assert.Equal("word-count", json.RootElement.GetProperty("job").GetString());
        JsonElement[] completed = json.RootElement.GetProperty("checkpoints").EnumerateArray()
            .Where(c => c.GetProperty("status").GetString() == "completed").ToArray();
        Assert.Equal(3, completed.Length);
        long[] ids = completed.Select(c => c.GetProperty("id").GetInt64()).ToArray();
        Assert.Equal(ids.OrderByDescending(id => id), ids);
        Assert.All(completed, c => Assert.True(c.GetProperty("fullSize").GetInt64() > 0));
        Assert.All(completed, c => Assert.Equal(3, c.GetProperty("operators").GetInt32()));
        Assert.All(completed, c => Assert.Equal(6, c.GetProperty("subtasks").GetInt32()));
        Assert.True(completed[0].GetProperty("usedOnRestart").GetBoolean());
        Assert.Equal(ids[0], json.RootElement.GetProperty("restoreCheckpointId").GetInt64());
        Assert.True(completed[0].TryGetProperty("bytesWritten", out JsonElement written) && written.GetInt64() > 0);
        Assert.All(completed.Skip(1), c => Assert.False(c.GetProperty("usedOnRestart").GetBoolean()));

        (_, string table, _) = Invoke("checkpoints", "--checkpoint-dir", _checkpoints);
        Assert.Contains($"A restart restores checkpoint {ids[0]}.", table, StringComparison.Ordinal);
        Assert.Contains("<- restores this", table, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckpointsOfAJobWithoutCheckpointsNamesTheJobAndThePath()
    {
        string empty = Path.Combine(_root, "empty");
        Directory.CreateDirectory(empty);

        (int exit, string output, string error) = Invoke("checkpoints", "--checkpoint-dir", empty);

        Assert.Equal(JobHost.ExitFailure, exit);
        Assert.Empty(output);
        Assert.Contains("No checkpoints of job 'word-count'", error, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(empty, "word-count"), error, StringComparison.Ordinal);
    }

    [Fact]
    public void InspectListsTheOperatorsWithTheirStatePiecesAndKeyedStates()
    {
        string checkpoint = LatestCheckpoint();

        (int exit, string output, string error) = Invoke("inspect", checkpoint);

        Assert.True(exit == JobHost.ExitSuccess, error);
        Assert.Contains("Operator 'lines': parallelism 2", output, StringComparison.Ordinal);
        Assert.Contains("Operator 'running-counts': parallelism 2", output, StringComparison.Ordinal);
        Assert.Contains("Operator 'counts': parallelism 2", output, StringComparison.Ordinal);
        Assert.Contains("keyed state 'count': Value Weir.ValueState<long>", output, StringComparison.Ordinal);
        Assert.Contains("keyed base", output, StringComparison.Ordinal);
        Assert.Contains("source", output, StringComparison.Ordinal);
        Assert.Contains("sink", output, StringComparison.Ordinal);

        (_, string jsonText, _) = Invoke("inspect", Path.Combine(checkpoint, "_metadata"), "--json");
        using JsonDocument json = JsonDocument.Parse(jsonText);
        JsonElement counts = json.RootElement.GetProperty("operators").EnumerateArray().Single(o => o.GetProperty("operatorId").GetString() == "running-counts");
        long keys = counts.GetProperty("subtasks").EnumerateArray().Sum(s => s.GetProperty("keys").GetInt64());
        Assert.Equal(_expectedCounts.Count, keys);
        Assert.All(counts.GetProperty("subtasks").EnumerateArray(), s => Assert.Equal(2, s.GetProperty("keyGroups").GetArrayLength()));
    }

    [Fact]
    public void InspectOperatorDumpsTheWordCountsOfTheInputAtTheFinalCheckpoint()
    {
        (int exit, string output, string error) = Invoke("inspect", LatestCheckpoint(), "--operator", "running-counts");

        Assert.True(exit == JobHost.ExitSuccess, error);
        using JsonDocument json = JsonDocument.Parse(output);
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (JsonElement subtask in json.RootElement.GetProperty("subtasks").EnumerateArray())
        {
            foreach (JsonElement entry in subtask.GetProperty("entries").EnumerateArray())
            {
                Assert.Equal("string", entry.GetProperty("key").GetProperty("as").GetString());
                counts.Add(entry.GetProperty("key").GetProperty("value").GetString()!, entry.GetProperty("states").GetProperty("count").GetInt64());
            }
        }

        Assert.Equal(_expectedCounts.OrderBy(p => p.Key, StringComparer.Ordinal), counts.OrderBy(p => p.Key, StringComparer.Ordinal));
        Assert.False(json.RootElement.GetProperty("truncated").GetBoolean());
    }

    [Fact]
    public void InspectOperatorLimitCapsTheKeysPrinted()
    {
        (int exit, string output, _) = Invoke("inspect", LatestCheckpoint(), "--operator", "running-counts", "--state", "count", "--limit", "5");

        Assert.Equal(JobHost.ExitSuccess, exit);
        using JsonDocument json = JsonDocument.Parse(output);
        int printed = json.RootElement.GetProperty("subtasks").EnumerateArray().Sum(s => s.GetProperty("entries").GetArrayLength());
        Assert.Equal(5, printed);
        Assert.True(json.RootElement.GetProperty("truncated").GetBoolean());
    }

    [Fact]
    public void InspectSourceOperatorShowsItsSplitsWithOffsets()
    {
        (int exit, string output, string error) = Invoke("inspect", LatestCheckpoint(), "--operator", "lines");

        Assert.True(exit == JobHost.ExitSuccess, error);
        using JsonDocument json = JsonDocument.Parse(output);
        JsonElement[] states = json.RootElement.GetProperty("subtasks").EnumerateArray()
            .SelectMany(s => s.GetProperty("operatorState").EnumerateArray()).ToArray();
        Assert.NotEmpty(states);
        Assert.All(states, s => Assert.Equal("source", s.GetProperty("piece").GetString()));
        foreach (JsonElement split in states.SelectMany(s => s.GetProperty("entries").EnumerateArray()))
        {
            Assert.Equal("text file split", split.GetProperty("as").GetString());
            Assert.EndsWith("part-0.txt", split.GetProperty("path").GetString(), StringComparison.Ordinal);
            Assert.InRange(split.GetProperty("offset").GetInt64(), split.GetProperty("start").GetInt64(), split.GetProperty("end").GetInt64());
        }
    }

    [Fact]
    public void ACorruptStateFileIsReportedByNameByInspectAndCheckpoints()
    {
        string checkpoint = LatestCheckpoint();
        long id = long.Parse(Path.GetFileName(checkpoint)["chk-".Length..], System.Globalization.CultureInfo.InvariantCulture);
        CheckpointMetadata metadata = Weir.Hosting.Inspection.CheckpointFiles.ReadMetadata(Path.Combine(checkpoint, "_metadata"), "word-count", id);
        string damaged = Path.Combine(JobDirectory, metadata.Operators.Single(o => o.OperatorId == "running-counts").Subtasks[0].Files[^1].File.Path);
        byte[] bytes = File.ReadAllBytes(damaged);
        bytes[bytes.Length / 2] ^= 0xFF;
        File.WriteAllBytes(damaged, bytes);

        (int exit, string output, _) = Invoke("inspect", checkpoint);
        Assert.Equal(JobHost.ExitFailure, exit);
        Assert.Contains($"PROBLEM: Checkpoint file '{damaged}' is unusable (checksum mismatch)", output, StringComparison.Ordinal);

        (int dumpExit, _, string dumpError) = Invoke("inspect", checkpoint, "--operator", "running-counts");
        Assert.Equal(JobHost.ExitFailure, dumpExit);
        Assert.Contains(damaged, dumpError, StringComparison.Ordinal);

        (_, string listing, _) = Invoke("checkpoints", "--checkpoint-dir", _checkpoints);
        Assert.Contains($"Checkpoint {id} (corrupt): Checkpoint file '{damaged}'", listing, StringComparison.Ordinal);
        Assert.DoesNotContain($"A restart restores checkpoint {id}.", listing, StringComparison.Ordinal);
    }

    [Fact]
    public void InspectOfADirectoryWithoutMetadataSaysWhatToGive()
    {
        (int exit, _, string error) = Invoke("inspect", JobDirectory);

        Assert.Equal(JobHost.ExitFailure, exit);
        Assert.Contains($"'{JobDirectory}' has no _metadata", error, StringComparison.Ordinal);
        Assert.Contains("'checkpoints' command", error, StringComparison.Ordinal);
    }

    private string LatestCheckpoint()
        => Directory.GetDirectories(JobDirectory, "chk-*")
            .OrderByDescending(d => long.Parse(Path.GetFileName(d)["chk-".Length..], System.Globalization.CultureInfo.InvariantCulture))
            .First();

    private static (int Exit, string Output, string Error) Invoke(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = JobHost.CreateCommandLine(WordCountJob.Definition).Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }
}
