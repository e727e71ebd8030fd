using System;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Weir.Execution;
using Xunit;
using static Weir.Runtime.Tests.EventTimeWindowCheckpointingTests;

namespace Weir.Runtime.Tests;

/// <summary>
/// A run stopped half-way (its source does not end, so no final watermark) resumes from its latest
/// checkpoint at a higher parallelism: window contents and timers are keyed state, redistributed by key
/// group, and every window and timer still comes out exactly once.
/// </summary>
[Collection("event time jobs")]
public sealed class EventTimeRescaleTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "weir-evrescale-" + Guid.NewGuid().ToString("N"));
    private readonly string _output;
    private readonly string _checkpoints;

    public EventTimeRescaleTests()
    {
        _output = Path.Combine(_root, "out");
        _checkpoints = Path.Combine(_root, "checkpoints");
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    [Theory]
    [InlineData(Kind.Tumbling, Backend.Heap)]
    [InlineData(Kind.Session, Backend.Faster)]
    [InlineData(Kind.Sliding, Backend.Faster)]
    public void Windows_resume_from_a_stopped_run_at_a_higher_parallelism(Kind kind, Backend backend)
    {
        Func<JobPlan> plan = kind switch
        {
            Kind.Tumbling => () => EventTimeTumblingSumsJob.CreatePlan(_output),
            Kind.Sliding => () => EventTimeSlidingSumsJob.CreatePlan(_output),
            _ => () => EventTimeSessionSumsJob.CreatePlan(_output),
        };

        StopThenResume(plan, backend);

        AssertWindows(Expected(kind), WordCountContractTests.OutputLines(_output).Select(WindowSum.Parse).ToList());
    }

    [Theory]
    [InlineData(Backend.Heap)]
    [InlineData(Backend.Faster)]
    public void Timers_resume_from_a_stopped_run_at_a_higher_parallelism(Backend backend)
    {
        StopThenResume(() => EventTimeTimersJob.CreatePlan(_output), backend);

        EventTimeTimerTests.AssertTimers(_output);
    }

    private void StopThenResume(Func<JobPlan> plan, Backend backend)
    {
        // Stop once a quarter of the input has passed and a checkpoint completed; from there on
        // records are slow, so the input cannot end before the stop whatever the machine's speed.
        long stopFrom = EventTimeInput.Records / 4;
        EventTimeFaults.Arm(long.MaxValue, slowFrom: stopFrom);
        using (var stop = new CancellationTokenSource())
        {
            var ran = new CancellationTokenSource();
            Task stopper = Task.Run(async () =>
            {
                while ((EventTimeFaults.RecordsPassed < stopFrom || EventTimeFaults.CompletedCheckpoints == 0) && !ran.IsCancellationRequested)
                {
                    await Task.Delay(5);
                }

                stop.Cancel();
            });
            Assert.True(new LocalExecutor().Execute(plan(), Options(_root, _checkpoints, parallelism: 2, backend), stop.Token).Completed);
            ran.Cancel();
            stopper.Wait();
        }

        long passed = EventTimeFaults.RecordsPassed;
        Assert.True(passed > 0 && passed < EventTimeInput.Records, $"the first run should stop part-way, it passed {passed} records");
        Assert.True(EventTimeFaults.CompletedCheckpoints > 0, "the first run completed no checkpoint");

        var logger = new RecordingLogger();
        Assert.True(new LocalExecutor(logger).Execute(plan(), Options(_root, _checkpoints, parallelism: 3, backend)).Completed);
        Assert.Contains(logger.Lines, l => l.Message.Contains("resumes from checkpoint", StringComparison.Ordinal));
        Assert.False(EventTimeFaults.Fired);
    }
}
