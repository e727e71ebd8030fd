using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using ClickCounts;
using Xunit;
using Xunit.Abstractions;

namespace Weir.Runtime.Tests;

/// <summary>
/// ClickCounts run as a real process (<c>dotnet ClickCounts.dll</c>) with checkpoints, rate-limited
/// so it lasts, SIGKILLed five times at random moments and each time restarted with the same
/// command, then run to the end: the committed output must be exactly the expected per-URL,
/// per-minute counts, each (url, window) once, and no click late.
/// </summary>
[Collection("processes")]
public sealed class ClickCountsCrashTests : IDisposable
{
    private const int Kills = 5;
    private readonly string _root = Path.Combine(Path.GetTempPath(), "weir-clicks-crash-" + Guid.NewGuid().ToString("N"));
    private readonly ITestOutputHelper _log;

    public ClickCountsCrashTests(ITestOutputHelper log)
    {
        _log = log;
        Directory.CreateDirectory(_root);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void ClickCounts_output_is_exactly_once_across_SIGKILLs(int parallelism)
    {
        string input = Path.Combine(_root, "clicks.jsonl");
        List<Click> clicks = ClickCountsContractTests.Generate(count: 36_000, urls: 30, minutes: 120, seed: 77 + parallelism);
        ClickCountsContractTests.WriteClicks(input, clicks);
        string output = Path.Combine(_root, "out");
        string dll = SampleProcess.Locate("ClickCounts");
        string[] arguments =
        [
            "run",
            "--input", input,
            "--output", output,
            "--parallelism", parallelism.ToString(CultureInfo.InvariantCulture),
            "--checkpoint-dir", Path.Combine(_root, "checkpoints"),
            "--checkpoint-interval", "100ms",
            "--rate", "2000",
            "--log-level", "Warning",
        ];

        var total = Stopwatch.StartNew();
        var random = new Random(500 + parallelism);
        int kills = 0;
        while (kills < Kills)
        {
            // A run needs about 2 s (start-up, then a first checkpoint that includes warming up)
            // before it commits anything: kills sooner than that would only repeat the same start.
            using SampleProcess job = SampleProcess.Start(dll, arguments);
            if (job.Process.WaitForExit(random.Next(1500, 3500)))
            {
                // The input must last past every kill, or the test proves little.
                Assert.Fail($"the run ended (exit code {job.Process.ExitCode}) before kill {kills + 1}: {job.StandardError}");
            }

            job.Process.Kill(entireProcessTree: true); // SIGKILL: no cleanup, no flush
            job.Process.WaitForExit();
            Log(job);
            kills++;
        }

        int committedBeforeLastRun = ClickCountsContractTests.OutputLines(output).Count;
        using (SampleProcess last = SampleProcess.Start(dll, arguments))
        {
            Assert.True(last.Process.WaitForExit(TimeSpan.FromMinutes(2)), "the last run did not finish");
            last.Process.WaitForExit();
            Log(last);
            Assert.True(last.Process.ExitCode == 0, $"the last run failed with exit code {last.Process.ExitCode}: {last.StandardError}");
        }

        _log.WriteLine($"{kills} kills; {committedBeforeLastRun} lines committed before the last run; {total.Elapsed.TotalSeconds:F1} s");
        Assert.True(committedBeforeLastRun > 0, "no window was committed before the last run: the kills did not hit a job with committed output");
        ClickCountsContractTests.AssertCounts(ClickCountsContractTests.ExpectedLines(clicks), output);
        Assert.Empty(ClickCountsContractTests.LateLines(output));
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
