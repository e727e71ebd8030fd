using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Weir.Checkpointing.Coordinator;
using Weir.Checkpointing.Storage;
using Weir.Checkpointing.Subtasks;
using Weir.Control;
using Weir.Execution;
using Weir.State;
using WordCount;
using Xunit;

namespace Weir.Runtime.Tests;

/// <summary>
/// Savepoints taken through the job's real control endpoint, in the spirit of Flink's
/// test_resume_savepoint: stop, resume at another parallelism and on another state backend, from a
/// moved directory, and the orphaned-state check.
/// </summary>
public sealed class SavepointTests : IDisposable
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(60);

    // Short: the control socket's path must stay under ~100 bytes.
    private readonly string _root = Path.Combine(Path.GetTempPath(), "wsp-" + Guid.NewGuid().ToString("N")[..12]);

    public SavepointTests() => Directory.CreateDirectory(_root);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task WordCount_resumes_from_savepoints_at_other_parallelisms_and_backends_and_keeps_its_output_contract()
    {
        string input = Path.Combine(_root, "in");
        WordCountContractTests.WriteCorpus(input, files: 4, linesPerFile: 500, seed: 11);
        string output = Path.Combine(_root, "out");
        string checkpoints = Path.Combine(_root, "chk");
        var client = new JobControlClient(checkpoints, WordCountJob.JobName) { Timeout = s_wait };
        JobPlan Plan() => WordCountJob.CreatePlan(input, output, rate: 600);

        // Parallelism 2 on the heap: a savepoint while it runs, then stop with a savepoint.
        Task<JobResult> first = Start(Plan(), Options(checkpoints, parallelism: 2, State.StateBackendOptions.Heap));
        WaitForCompletedCheckpoint(checkpoints, WordCountJob.JobName);
        string running = client.TriggerSavepoint(targetDirectory: null);
        Assert.StartsWith(Path.Combine(checkpoints, WordCountJob.JobName, "savepoints", "savepoint-"), running, StringComparison.Ordinal);
        AssertSelfContained(running);
        string stopped1 = client.StopWithSavepoint(Path.Combine(_root, "sp"), drain: false);
        JobResult result1 = await first.WaitAsync(s_wait);
        Assert.False(result1.Completed);
        Assert.Equal(stopped1, result1.StoppedWithSavepoint);
        AssertSelfContained(stopped1);
        Assert.True(Directory.Exists(running), "a savepoint is never deleted by Weir");
        Assert.False(File.Exists(client.SocketPath), "the control endpoint goes with the job");

        // Parallelism 1 on FASTER, from the savepoint; stopped again after draining its input.
        var faster = new State.StateBackendOptions(StateBackendKind.Faster, Path.Combine(_root, "faster"), 8L << 20, 64);
        Task<JobResult> second = Start(Plan(), Options(checkpoints, parallelism: 1, faster, fromSavepoint: stopped1));
        WaitForCompletedCheckpoint(checkpoints, WordCountJob.JobName, after: SavepointId(stopped1));
        string stopped2 = client.StopWithSavepoint(Path.Combine(_root, "sp"), drain: true);
        JobResult result2 = await second.WaitAsync(s_wait);
        Assert.True(result2.Completed);
        Assert.Equal(stopped2, result2.StoppedWithSavepoint);

        // The savepoint, moved elsewhere (as if copied to another machine), restores at parallelism 4
        // on the heap and the job runs to its end.
        string moved = Path.Combine(_root, "elsewhere");
        Directory.Move(stopped2, moved);
        JobResult result3 = new LocalExecutor().Execute(Plan(), Options(checkpoints, parallelism: 4, State.StateBackendOptions.Heap, fromSavepoint: moved));
        Assert.True(result3.Completed);

        WordCountContractTests.AssertContract(WordCountContractTests.ExpectedCounts(WordCountContractTests.TextFilesOf(input)), output);

        // Later checkpoints never refer to a savepoint's files: the savepoints can be deleted.
        foreach (string metadata in Directory.GetFiles(Path.Combine(checkpoints, WordCountJob.JobName), "_metadata", SearchOption.AllDirectories).Where(m => m.Contains("chk-", StringComparison.Ordinal)))
        {
            Assert.DoesNotContain("savepoint", File.ReadAllText(metadata), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Keyed_and_broadcast_state_continue_across_savepoints_at_parallelism_2_1_and_4_and_between_backends()
    {
        string checkpoints = Path.Combine(_root, "chk");
        var client = new JobControlClient(checkpoints, SavepointLimitsJob.JobName) { Timeout = s_wait };
        var faster = new State.StateBackendOptions(StateBackendKind.Faster, Path.Combine(_root, "faster"), 8L << 20, 64);
        var alerts = new List<LimitAlert>();
        string? savepoint = null;
        foreach ((int parallelism, State.StateBackendOptions backend) in new[] { (2, State.StateBackendOptions.Heap), (1, faster), (4, State.StateBackendOptions.Heap) })
        {
            // Only the first run gets rules: later runs must have them from the savepoint.
            SavepointLimitsJob.RulesForNextPlan = savepoint is null ? LimitsJob.Rules : [];
            SavepointLimitsJob.Alerts.Clear();
            Task<JobResult> run = Start(SavepointLimitsJob.CreatePlan(), Options(checkpoints, parallelism, backend, fromSavepoint: savepoint));
            WaitForCompletedCheckpoint(checkpoints, SavepointLimitsJob.JobName, after: savepoint is null ? 0 : SavepointId(savepoint));
            Thread.Sleep(200);

            // Drained: the collecting sink is not transactional, so nothing may be emitted after the savepoint.
            savepoint = client.StopWithSavepoint(targetDirectory: null, drain: true);
            JobResult result = await run.WaitAsync(s_wait);
            Assert.True(result.Completed);
            LimitAlert[] output = SavepointLimitsJob.Alerts.ToArray();
            Assert.Contains(output, a => a.Rule == "higher");
            alerts.AddRange(output);
        }

        // Sensor s reads s, s + 100, s + 200, ...: its k-th reading has value s + 100 (k - 1), and
        // the keyed count at that reading must be k, whatever run, parallelism or backend it was in.
        foreach (IGrouping<long, LimitAlert> sensor in alerts.Where(a => a.Sensor >= 0 && a.Rule == "high").GroupBy(a => a.Sensor))
        {
            long s = sensor.Key;
            long[] values = sensor.Select(a => a.Value).ToArray();
            Assert.Equal(values.Length, values.Distinct().Count());
            foreach (LimitAlert alert in sensor)
            {
                Assert.Equal(((alert.Value - s) / 100) + 1, alert.Seen);
            }

            // No reading was skipped or repeated across the stops.
            long first = values.Min();
            Assert.Equal(((values.Max() - first) / 100) + 1, values.Length);
        }

        // The limit "higher" (9500) came through every restore with the broadcast state, and "gone" stayed removed.
        Assert.All(alerts.Where(a => a.Sensor >= 0 && a.Value > 9_500), a => Assert.True(a.Rule is "high" or "higher"));
        Assert.Equal(
            alerts.Count(a => a.Sensor >= 0 && a.Rule == "high" && a.Value > 9_500),
            alerts.Count(a => a.Sensor >= 0 && a.Rule == "higher"));
    }

    [Fact]
    public async Task A_removed_operator_is_refused_with_its_name_and_accepted_with_allow_non_restored_state()
    {
        string input = Path.Combine(_root, "in");
        WordCountContractTests.WriteCorpus(input, files: 2, linesPerFile: 300, seed: 5);
        string checkpoints = Path.Combine(_root, "chk");
        Task<JobResult> run = Start(WordCountJob.CreatePlan(input, Path.Combine(_root, "out"), rate: 300), Options(checkpoints, parallelism: 2, State.StateBackendOptions.Heap));
        WaitForCompletedCheckpoint(checkpoints, WordCountJob.JobName);
        string savepoint = new JobControlClient(checkpoints, WordCountJob.JobName) { Timeout = s_wait }.StopWithSavepoint(null, drain: false);
        await run.WaitAsync(s_wait);

        // The sink's pending transactions live in its output directory: the new job writes there too.
        string output = Path.Combine(_root, "out");
        var before = Directory.GetFiles(output).ToHashSet(StringComparer.Ordinal);
        JobFailedException refused = Assert.Throws<JobFailedException>(() => new LocalExecutor().Execute(
            RecountedWordCountJob.CreatePlan(input, output),
            Options(Path.Combine(_root, "chk2"), parallelism: 1, State.StateBackendOptions.Heap, fromSavepoint: savepoint)));
        Assert.Contains("'running-counts' (keyed state)", refused.Message, StringComparison.Ordinal);
        Assert.Contains("--allow-non-restored-state", refused.Message, StringComparison.Ordinal);
        Assert.Equal(before, Directory.GetFiles(output).ToHashSet(StringComparer.Ordinal));

        JobResult accepted = new LocalExecutor().Execute(
            RecountedWordCountJob.CreatePlan(input, output),
            Options(Path.Combine(_root, "chk2"), parallelism: 1, State.StateBackendOptions.Heap, fromSavepoint: savepoint, allowNonRestoredState: true));
        Assert.True(accepted.Completed);

        // The source's position was restored (only the rest of the input is read); the counts start over.
        List<string> lines = Directory.GetFiles(output, "part-*").Where(f => !before.Contains(f)).SelectMany(File.ReadAllLines).ToList();
        Assert.NotEmpty(lines);
        Assert.All(lines.GroupBy(l => l.Split('\t')[0]), word => Assert.Contains(word, l => l.EndsWith("\t1", StringComparison.Ordinal)));
        long total = WordCountContractTests.ExpectedCounts(WordCountContractTests.TextFilesOf(input)).Values.Sum();
        Assert.True(lines.Count < total, $"{lines.Count} of {total} words: the source resumed where the savepoint left it");
    }

    [Fact]
    public async Task A_stop_whose_savepoint_the_sinks_never_committed_fails_and_the_job_keeps_running()
    {
        string input = Path.Combine(_root, "in");
        WordCountContractTests.WriteCorpus(input, files: 4, linesPerFile: 1_000, seed: 23);
        string output = Path.Combine(_root, "out");
        string checkpoints = Path.Combine(_root, "chk");
        string target = Path.Combine(_root, "sp");
        var client = new JobControlClient(checkpoints, WordCountJob.JobName) { Timeout = s_wait };
        JobPlan Plan() => WordCountJob.CreatePlan(input, output, rate: 400);

        // The job fails after the savepoint's metadata is durable and before any sink is told to
        // commit it; the restart restores an older checkpoint and deletes the savepoint's transactions.
        var faults = new FailBeforeSavepointCommit(target);
        Task<JobResult> run = Start(Plan(), Options(checkpoints, parallelism: 2, State.StateBackendOptions.Heap, faults: faults));
        WaitForCompletedCheckpoint(checkpoints, WordCountJob.JobName);
        JobControlException refused = Assert.Throws<JobControlException>(() => client.StopWithSavepoint(target, drain: false));
        Assert.Contains("completed, but the job failed before its sinks", refused.Message, StringComparison.Ordinal);
        Assert.Equal(1, faults.Fired);
        Assert.False(run.IsCompleted, "a stop that failed must leave the job running");

        // Once the restarted attempt runs, a stop succeeds and its savepoint resumes to the whole output.
        WaitForCompletedCheckpoint(checkpoints, WordCountJob.JobName, after: faults.FailedCheckpoint);
        string stopped = client.StopWithSavepoint(target, drain: false);
        JobResult result = await run.WaitAsync(s_wait);
        Assert.Equal(stopped, result.StoppedWithSavepoint);
        Assert.True(new LocalExecutor().Execute(Plan(), Options(checkpoints, parallelism: 3, State.StateBackendOptions.Heap, fromSavepoint: stopped)).Completed);

        WordCountContractTests.AssertContract(WordCountContractTests.ExpectedCounts(WordCountContractTests.TextFilesOf(input)), output);
    }

    [Fact]
    public void Control_commands_without_a_running_job_fail_with_a_clear_message()
    {
        var client = new JobControlClient(Path.Combine(_root, "nothing"), WordCountJob.JobName);
        JobControlException error = Assert.Throws<JobControlException>(() => client.TriggerSavepoint(null));
        Assert.Contains("No job 'word-count' is running on checkpoint directory", error.Message, StringComparison.Ordinal);
    }

    private static Task<JobResult> Start(JobPlan plan, ExecutionOptions options)
        => Task.Factory.StartNew(() => new LocalExecutor().Execute(plan, options), TaskCreationOptions.LongRunning);

    private static ExecutionOptions Options(string checkpoints, int parallelism, State.StateBackendOptions backend, string? fromSavepoint = null, bool allowNonRestoredState = false, ICheckpointFaults? faults = null)
        => new(
            Parallelism: parallelism,
            MaxParallelism: 128,
            StateBackend: backend,
            Checkpointing: new CheckpointingOptions(
                checkpoints,
                new CheckpointOptions { Interval = TimeSpan.FromMilliseconds(50) },
                Faults: faults,
                FromSavepoint: fromSavepoint,
                AllowNonRestoredState: allowNonRestoredState));

    private static long SavepointId(string directory) => CheckpointCatalog.ReadSavepoint(directory).CheckpointId;

    /// <summary>Waits until the job has completed a checkpoint above <paramref name="after"/> (its attempt runs).</summary>
    private static void WaitForCompletedCheckpoint(string checkpoints, string job, long after = 0)
    {
        string directory = Path.Combine(checkpoints, job);
        DateTime deadline = DateTime.UtcNow + s_wait;
        while (DateTime.UtcNow < deadline)
        {
            if (Directory.Exists(directory) && Directory.GetDirectories(directory, "chk-*").Any(d =>
                    CheckpointLayout.TryParseCheckpointDirectory(Path.GetFileName(d), out long id) && id > after && File.Exists(Path.Combine(d, "_metadata"))))
            {
                return;
            }

            Thread.Sleep(10);
        }

        throw new TimeoutException($"No checkpoint above {after} completed in '{directory}'.");
    }

    /// <summary>A savepoint's metadata names only files inside its directory, all present.</summary>
    private static void AssertSelfContained(string savepoint)
    {
        CompletedCheckpoint read = CheckpointCatalog.ReadSavepoint(savepoint);
        Assert.True(read.Metadata.Savepoint);
        Assert.NotEmpty(read.Metadata.Operators);
        foreach (OperatorStateMetadata op in read.Metadata.Operators)
        {
            Assert.True(op.Parallelism >= 1);
            foreach (SubtaskStateFile file in op.Subtasks.SelectMany(s => s.Files))
            {
                Assert.DoesNotContain("..", file.File.Path, StringComparison.Ordinal);
                Assert.False(file.File.Path.StartsWith("shared/", StringComparison.Ordinal));
                Assert.True(File.Exists(Path.Combine(savepoint, file.File.Path)), file.File.Path);
            }
        }
    }

    /// <summary>Fails the job once, at the first savepoint under <paramref name="target"/>, after its metadata is durable and before its subtasks are told.</summary>
    private sealed class FailBeforeSavepointCommit(string target) : ICheckpointFaults
    {
        private long _failedCheckpoint;

        public int Fired => Volatile.Read(ref _failedCheckpoint) == 0 ? 0 : 1;

        public long FailedCheckpoint => Volatile.Read(ref _failedCheckpoint);

        public void DuringSyncPhase(SubtaskId subtask, long checkpointId)
        {
        }

        public void AfterSyncPhase(SubtaskId subtask, long checkpointId)
        {
        }

        public void DuringAsyncPhase(SubtaskId subtask, long checkpointId)
        {
        }

        public void BeforeMetadata(long checkpointId)
        {
        }

        public void BeforeNotifyComplete(long checkpointId)
        {
            bool isSavepoint = Directory.Exists(target) && Directory.GetDirectories(target, $"savepoint-{checkpointId}-*").Length > 0;
            if (isSavepoint && Interlocked.CompareExchange(ref _failedCheckpoint, checkpointId, 0) == 0)
            {
                throw new IOException($"injected failure between savepoint {checkpointId}'s completion and its commit");
            }
        }
    }
}
