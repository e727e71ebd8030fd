using System;
using System.Globalization;
using System.IO;
using System.Threading;
using Xunit;
using Xunit.Abstractions;

namespace Weir.Runtime.Tests;

/// <summary>
/// A retained checkpoint restores at another parallelism, as a savepoint does: the WordCount binary
/// runs at parallelism 2, is SIGKILLed once it has completed a checkpoint and committed output, and
/// the same command at another --parallelism resumes from that checkpoint (key groups, source splits
/// and the sink's pending files redistributed). The output must satisfy WordCount's contract exactly once.
/// </summary>
[Collection("processes")]
public sealed class RescaledCheckpointRestoreTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "weir-rescale-" + Guid.NewGuid().ToString("N"));
    private readonly ITestOutputHelper _log;

    public RescaledCheckpointRestoreTests(ITestOutputHelper log)
    {
        _log = log;
        Directory.CreateDirectory(_root);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData(3)]
    [InlineData(1)]
    public void A_killed_job_resumes_from_its_checkpoint_at_another_parallelism(int resumedParallelism)
    {
        string input = Path.Combine(_root, "in");
        WordCountContractTests.WriteCorpus(input, files: 3, linesPerFile: 3_000, seed: 17 + resumedParallelism);
        string output = Path.Combine(_root, "out");
        string checkpoints = Path.Combine(_root, "checkpoints");
        string[] run = ["run", "--input", input, "--output", output, "--checkpoint-dir", checkpoints, "--checkpoint-interval", "100ms"];

        // 9,000 lines at 500 a second: the kill comes long before the input ends.
        using (SampleProcess first = SampleProcess.Start(SampleProcess.WordCount, [.. run, "--parallelism", "2", "--rate", "500", "--log-level", "Warning"]))
        {
            SavepointCommandLineTests.WaitForCheckpoint(checkpoints);
            WaitForCommittedOutput(output);
            Assert.False(first.Process.HasExited, "the first run ended before it was killed: " + first.StandardError);
            first.Process.Kill(entireProcessTree: true); // SIGKILL: no savepoint, no cleanup
            first.Process.WaitForExit();
            _log.WriteLine(first.StandardError);
        }

        string p = resumedParallelism.ToString(CultureInfo.InvariantCulture);

        // Only the number of key groups is fixed: another one is refused with what to run instead.
        using (SampleProcess refused = SampleProcess.Start(SampleProcess.WordCount, [.. run, "--parallelism", p, "--max-parallelism", "64", "--log-level", "Warning"]))
        {
            Assert.True(refused.Process.WaitForExit(TimeSpan.FromMinutes(1)), "the run with another max parallelism did not end");
            refused.Process.WaitForExit();
            Assert.Equal(1, refused.Process.ExitCode);
            Assert.Contains("was taken with max parallelism 128, but the job now runs with 64", refused.StandardError, StringComparison.Ordinal);
            Assert.Contains("Run with --max-parallelism 128", refused.StandardError, StringComparison.Ordinal);
        }
        using (SampleProcess resumed = SampleProcess.Start(SampleProcess.WordCount, [.. run, "--parallelism", p, "--log-level", "Information"]))
        {
            Assert.True(resumed.Process.WaitForExit(TimeSpan.FromMinutes(3)), "the resumed run did not finish");
            resumed.Process.WaitForExit();
            _log.WriteLine(resumed.StandardError);
            Assert.True(resumed.Process.ExitCode == 0, $"the resumed run failed with exit code {resumed.Process.ExitCode}: {resumed.StandardError}");
            Assert.Contains("resumes from checkpoint", resumed.StandardError, StringComparison.Ordinal);
            Assert.Contains($"parallelism {p}, max parallelism 128", resumed.StandardError, StringComparison.Ordinal);
        }

        WordCountContractTests.AssertContract(WordCountContractTests.ExpectedCounts(WordCountContractTests.TextFilesOf(input)), output);
        Assert.DoesNotContain(Directory.GetFiles(output), f => Path.GetFileName(f).StartsWith('.'));
    }

    /// <summary>Waits until a checkpoint's completion has committed output, so the restore must continue counts the output already shows.</summary>
    private static void WaitForCommittedOutput(string output)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!(Directory.Exists(output) && WordCountContractTests.OutputLines(output).Count > 0))
        {
            Assert.True(DateTime.UtcNow < deadline, "no output was committed");
            Thread.Sleep(20);
        }
    }
}
