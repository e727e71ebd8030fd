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
            using Process job = Start(arguments);
            int delay = random.Next(600, 1800);
            if (job.WaitForExit(delay))
            {
                // The job finished before its kill: the input is consumed. That must not happen
                // before enough kills, or the test proves little: the rate keeps the run long.
                Assert.True(job.ExitCode == 0, $"run failed with exit code {job.ExitCode}");
                finishedEarly++;
                break;
            }

            job.Kill(entireProcessTree: true); // SIGKILL: no cleanup, no flush
            job.WaitForExit();
            kills++;
        }

        _log.WriteLine($"{kills} kills, finished early: {finishedEarly}");
        Assert.Equal(Kills, kills);

        // The last run goes to the end with the same command.
        using (Process last = Start(arguments))
        {
            Assert.True(last.WaitForExit(TimeSpan.FromMinutes(3)), "the last run did not finish");
            Assert.Equal(0, last.ExitCode);
        }

        WordCountContractTests.AssertContract(WordCountContractTests.ExpectedCounts(WordCountContractTests.TextFilesOf(input)), output);
        Assert.DoesNotContain(Directory.GetFiles(output), f => Path.GetFileName(f).StartsWith('.'));
    }

    private Process Start(string[] arguments)
    {
        string binary = Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "WordCount.exe" : "WordCount");
        var start = new ProcessStartInfo(binary)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = start };
        var errors = new StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (errors)
                {
                    errors.AppendLine(e.Data);
                }
            }
        };
        process.OutputDataReceived += (_, _) => { };
        process.Exited += (_, _) =>
        {
            lock (errors)
            {
                if (errors.Length > 0)
                {
                    _log.WriteLine(errors.ToString());
                }
            }
        };
        process.EnableRaisingEvents = true;
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        return process;
    }
}
