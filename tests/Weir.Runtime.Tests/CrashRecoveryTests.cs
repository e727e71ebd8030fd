using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using Xunit;
using Xunit.Abstractions;

namespace Weir.Runtime.Tests;

/// <summary>
/// Flink-style crash test: WordCount runs as a real process over a deterministic input, rate-limited
/// so it lasts long enough, and is killed with SIGKILL at random moments, at least 20 times, each
/// time restarted with the same command. The committed output must still satisfy WordCount's
/// contract: a word seen n times gives exactly the lines "w 1" .. "w n", each once.
/// </summary>
[Collection("processes")]
public sealed class CrashRecoveryTests : IDisposable
{
    private const int Kills = 20;
    private readonly string _root = Path.Combine(Path.GetTempPath(), "weir-crash-" + Guid.NewGuid().ToString("N"));
    private readonly ITestOutputHelper _log;

    public CrashRecoveryTests(ITestOutputHelper log)
    {
        _log = log;
        Directory.CreateDirectory(_root);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData("heap", 1)]
    [InlineData("heap", 2)]
    [InlineData("faster", 1)]
    [InlineData("faster", 2)]
    public void WordCount_output_is_exactly_once_across_twenty_SIGKILLs(string backend, int parallelism)
    {
        string input = Path.Combine(_root, "in");
        WordCountContractTests.WriteCorpus(input, files: 3, linesPerFile: 15_000, seed: 42 + parallelism);
        string output = Path.Combine(_root, "out");
        string checkpoints = Path.Combine(_root, "checkpoints");
        string[] arguments =
        [
            "run",
            "--input", input,
            "--output", output,
            "--parallelism", parallelism.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--state-backend", backend,
            "--state-dir", Path.Combine(_root, "state"),
            "--state-cached-keys", "64", // FASTER: most keys live in the store, not the cache
            "--checkpoint-dir", checkpoints,
            "--checkpoint-interval", "100ms",
            "--rate", "2000",
            "--log-level", "Warning",
        ];

        var random = new Random(1000 * parallelism + backend.Length);
        int kills = 0;
        int finishedEarly = 0;
        while (kills < Kills)
        {
            using SampleProcess job = SampleProcess.Start(SampleProcess.WordCount, arguments);
            int delay = random.Next(600, 1800);
            if (job.Process.WaitForExit(delay))
            {
                // The job finished before its kill: the input is consumed. That must not happen
                // before enough kills, or the test proves little: the rate keeps the run long.
                Assert.True(job.Process.ExitCode == 0, $"run failed with exit code {job.Process.ExitCode}: {job.StandardError}");
                finishedEarly++;
                break;
            }

            job.Process.Kill(entireProcessTree: true); // SIGKILL: no cleanup, no flush
            job.Process.WaitForExit();
            Log(job);
            kills++;
        }

        _log.WriteLine($"{kills} kills, finished early: {finishedEarly}");
        Assert.Equal(Kills, kills);

        // The last run goes to the end with the same command.
        using (SampleProcess last = SampleProcess.Start(SampleProcess.WordCount, arguments))
        {
            Assert.True(last.Process.WaitForExit(TimeSpan.FromMinutes(3)), "the last run did not finish");
            last.Process.WaitForExit();
            Log(last);
            Assert.Equal(0, last.Process.ExitCode);
        }

        WordCountContractTests.AssertContract(WordCountContractTests.ExpectedCounts(WordCountContractTests.TextFilesOf(input)), output);
        Assert.DoesNotContain(Directory.GetFiles(output), f => Path.GetFileName(f).StartsWith('.'));
    }

    private void Log(SampleProcess run)
    {
        if (run.StandardError is { Length: > 0 } errors)
        {
            _log.WriteLine(errors);
        }
    }
}
