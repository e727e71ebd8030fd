using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using Xunit;
using Xunit.Abstractions;

namespace Weir.Runtime.Tests;

/// <summary>The job-control commands of the real WordCount binary: run → savepoint → stop → run --from-savepoint at another parallelism.</summary>
public sealed class SavepointCommandLineTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "wspc-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly ITestOutputHelper _log;

    public SavepointCommandLineTests(ITestOutputHelper log)
    {
        _log = log;
        Directory.CreateDirectory(_root);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Run_savepoint_stop_and_resume_from_the_savepoint_at_another_parallelism()
    {
        string input = Path.Combine(_root, "in");
        WordCountContractTests.WriteCorpus(input, files: 3, linesPerFile: 600, seed: 3);
        string output = Path.Combine(_root, "out");
        string checkpoints = Path.Combine(_root, "chk");
        string[] run = ["run", "--input", input, "--output", output, "--checkpoint-dir", checkpoints, "--checkpoint-interval", "100ms", "--log-level", "Warning"];

        using (SampleProcess job = SampleProcess.Start(SampleProcess.WordCount, [.. run, "--parallelism", "2", "--rate", "500"]))
        {
            WaitForCheckpoint(checkpoints);

            (int code, string stdout, string stderr) = RunToEnd(["savepoint", "--checkpoint-dir", checkpoints]);
            Assert.True(code == 0, stderr);
            string savepoint = LastLine(stdout);
            Assert.True(File.Exists(Path.Combine(savepoint, "_metadata")), savepoint);

            (code, stdout, stderr) = RunToEnd(["stop", "--checkpoint-dir", checkpoints, "--with-savepoint", "--target", Path.Combine(_root, "sp")]);
            Assert.True(code == 0, stderr);
            string stopped = LastLine(stdout);
            Assert.StartsWith(Path.Combine(_root, "sp", "savepoint-"), stopped, StringComparison.Ordinal);
            Assert.True(job.Process.WaitForExit(TimeSpan.FromSeconds(30)), "the job did not stop");
            job.Process.WaitForExit();
            _log.WriteLine(job.StandardError);
            Assert.Equal(0, job.Process.ExitCode);

            // Nothing runs there any more: a clear error and a non-zero exit code.
            (code, _, stderr) = RunToEnd(["savepoint", "--checkpoint-dir", checkpoints]);
            Assert.Equal(1, code);
            Assert.Contains("No job 'word-count' is running on checkpoint directory", stderr, StringComparison.Ordinal);

            using SampleProcess resumed = SampleProcess.Start(SampleProcess.WordCount, [.. run, "--parallelism", "3", "--from-savepoint", stopped]);
            Assert.True(resumed.Process.WaitForExit(TimeSpan.FromMinutes(2)), "the resumed run did not finish");
            Assert.Equal(0, resumed.Process.ExitCode);
        }

        WordCountContractTests.AssertContract(WordCountContractTests.ExpectedCounts(WordCountContractTests.TextFilesOf(input)), output);
    }

    private static string LastLine(string stdout) => stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Last();

    /// <summary>Waits until the running WordCount job has completed a checkpoint in <paramref name="checkpoints"/>.</summary>
    internal static void WaitForCheckpoint(string checkpoints)
    {
        string job = Path.Combine(checkpoints, "word-count");
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!(Directory.Exists(job) && Directory.GetDirectories(job, "chk-*").Any(d => File.Exists(Path.Combine(d, "_metadata")))))
        {
            Assert.True(DateTime.UtcNow < deadline, "no checkpoint completed");
            Thread.Sleep(20);
        }
    }

    private (int Code, string Stdout, string Stderr) RunToEnd(string[] arguments)
    {
        using SampleProcess run = SampleProcess.Start(SampleProcess.WordCount, arguments);
        Assert.True(run.Process.WaitForExit(TimeSpan.FromMinutes(1)), string.Join(' ', arguments) + " did not end");
        run.Process.WaitForExit();
        return (run.Process.ExitCode, run.StandardOutput, run.StandardError);
    }
}
