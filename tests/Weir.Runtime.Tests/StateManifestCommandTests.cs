using System;
using System.CommandLine;
using System.IO;
using System.Runtime.CompilerServices;
using FraudDetection;
using Weir.Hosting;
using WordCount;
using Xunit;

namespace Weir.Runtime.Tests;

/// <summary>
/// <c>state-manifest [--output FILE]</c>, which every job binary has: the job's state schema as the
/// JSON of its committed baseline, printed or written over the baseline.
/// </summary>
public sealed class StateManifestCommandTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "weir-manifest-" + Guid.NewGuid().ToString("N"));

    public StateManifestCommandTests() => Directory.CreateDirectory(_root);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void The_FraudDetection_binary_prints_its_manifest_which_is_the_committed_baseline()
    {
        using SampleProcess run = SampleProcess.Start(SampleProcess.Locate("FraudDetection"), ["state-manifest"]);
        Assert.True(run.Process.WaitForExit(TimeSpan.FromMinutes(1)), "state-manifest did not end");
        run.Process.WaitForExit();

        Assert.True(run.Process.ExitCode == 0, run.StandardError);
        Assert.Equal(FraudDetectionJob.StateManifestJson, run.StandardOutput);
        Assert.Equal(CommittedBaseline(), run.StandardOutput);
    }

    [Fact]
    public void Output_replaces_the_file_with_exactly_the_manifest_and_prints_its_path()
    {
        string baseline = Path.Combine(_root, "fraud-detection.weirstate.json");
        File.WriteAllText(baseline, """{ "formatVersion": 1, "job": "fraud-detection", "operators": [] }""");

        using SampleProcess run = SampleProcess.Start(SampleProcess.Locate("FraudDetection"), ["state-manifest", "--output", baseline]);
        Assert.True(run.Process.WaitForExit(TimeSpan.FromMinutes(1)), "state-manifest --output did not end");
        run.Process.WaitForExit();

        Assert.True(run.Process.ExitCode == 0, run.StandardError);
        Assert.Equal(baseline + Environment.NewLine, run.StandardOutput);
        Assert.Equal(FraudDetectionJob.StateManifestJson, File.ReadAllText(baseline));
        Assert.Equal(CommittedBaseline(), File.ReadAllText(baseline));
        Assert.Equal(new[] { baseline }, Directory.GetFiles(_root)); // the temporary file was renamed, not left behind
    }

    [Fact]
    public void Every_generated_job_has_the_command_without_code_of_its_own()
    {
        // WordCount's Program.cs is one line: the command comes from the generated definition.
        (int exit, string output, string error) = Invoke(WordCountJob.Definition, "state-manifest");

        Assert.True(exit == JobHost.ExitSuccess, error);
        Assert.Equal(WordCountJob.StateManifestJson, output);
        Assert.Contains("\"job\": \"word-count\"", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Output_into_a_missing_directory_fails_naming_the_file_and_writes_nothing()
    {
        string file = Path.Combine(_root, "missing", "word-count.weirstate.json");

        (int exit, string output, string error) = Invoke(WordCountJob.Definition, "state-manifest", "--output", file);

        Assert.Equal(JobHost.ExitFailure, exit);
        Assert.Empty(output);
        Assert.Contains($"cannot write the state manifest of job 'word-count' to '{file}'", error, StringComparison.Ordinal);
        Assert.Contains("does not exist", error, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(_root));
    }

    [Fact]
    public void A_hand_written_definition_without_a_manifest_says_so()
    {
        var definition = new JobDefinition("hand-made", [], _ => throw new InvalidOperationException("no plan is built for state-manifest"));

        (int exit, string output, string error) = Invoke(definition, "state-manifest");

        Assert.Equal(JobHost.ExitFailure, exit);
        Assert.Empty(output);
        Assert.Contains("job 'hand-made' has no state manifest", error, StringComparison.Ordinal);
    }

    private static (int Exit, string Output, string Error) Invoke(JobDefinition job, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = JobHost.CreateCommandLine(job).Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }

    private static string CommittedBaseline([CallerFilePath] string path = "")
    {
        string repository = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, "..", ".."));
        return File.ReadAllText(Path.Combine(repository, "samples", "FraudDetection", "fraud-detection.weirstate.json")).Replace("\r\n", "\n", StringComparison.Ordinal);
    }
}
