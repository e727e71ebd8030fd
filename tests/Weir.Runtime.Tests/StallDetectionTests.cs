using System;
using System.Threading;
using Weir.Checkpointing.Coordinator;
using Weir.Recovery;
using Xunit;

namespace Weir.Runtime.Tests;

public sealed class StallDetectionTests
{
    private static readonly SubtaskId A = new(0, 0);
    private static readonly SubtaskId B = new(0, 1);
    private static readonly SubtaskId C = new(1, 0);
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(1);

    private readonly SteppedClock _clock = new();

    [Fact]
    public void IdleSubtasksAreNeverStalled()
    {
        var progress = new SubtaskProgress([A, B, C], _clock);
        _clock.Advance(TimeSpan.FromHours(10));
        Assert.Null(progress.FindStalled(progress.Now, Timeout));
    }

    [Fact]
    public void ASubtaskInsideOneBatchForTheTimeoutIsReportedWithSinceWhen()
    {
        var progress = new SubtaskProgress([A, B, C], _clock);
        int b = progress.SlotOf(B);
        long entered = progress.Now;
        progress.EnterBatch(b);

        _clock.Advance(TimeSpan.FromSeconds(59));
        Assert.Null(progress.FindStalled(progress.Now, Timeout));

        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(new StalledSubtask(B, entered, Timeout), progress.FindStalled(progress.Now, Timeout));
    }

    [Fact]
    public void LeavingTheBatchClearsTheStallAndTheNextBatchStartsAFreshClock()
    {
        var progress = new SubtaskProgress([A, B], _clock);
        int a = progress.SlotOf(A);
        progress.EnterBatch(a);
        _clock.Advance(TimeSpan.FromMinutes(5));
        progress.LeaveBatch(a);
        Assert.Null(progress.FindStalled(progress.Now, Timeout));

        // Steady batches of 10 s each: busy most of the time, yet never stalled.
        for (int i = 0; i < 100; i++)
        {
            progress.EnterBatch(a);
            _clock.Advance(TimeSpan.FromSeconds(10));
            Assert.Null(progress.FindStalled(progress.Now, Timeout));
            progress.LeaveBatch(a);
        }
    }

    [Fact]
    public void OfSeveralStalledSubtasksTheLongestIsReported()
    {
        var progress = new SubtaskProgress([A, B, C], _clock);
        progress.EnterBatch(progress.SlotOf(C));
        _clock.Advance(TimeSpan.FromMinutes(1));
        long bEntered = progress.Now;
        progress.EnterBatch(progress.SlotOf(B));
        _clock.Advance(TimeSpan.FromMinutes(2));
        progress.EnterBatch(progress.SlotOf(A));

        StalledSubtask? stalled = progress.FindStalled(progress.Now, Timeout);
        Assert.Equal(C, stalled?.Subtask);
        Assert.Equal(TimeSpan.FromMinutes(3), stalled?.BusyFor);

        progress.LeaveBatch(progress.SlotOf(C));
        Assert.Equal(new StalledSubtask(B, bEntered, TimeSpan.FromMinutes(2)), progress.FindStalled(progress.Now, Timeout));
    }

    [Fact]
    public void AStampNewerThanTheWatchdogsNowIsNotAStall()
    {
        var progress = new SubtaskProgress([A], _clock);
        long watchdogNow = progress.Now;
        _clock.Advance(TimeSpan.FromSeconds(1));
        progress.EnterBatch(progress.SlotOf(A));
        Assert.Null(progress.FindStalled(watchdogNow, TimeSpan.FromTicks(1)));
    }

    [Fact]
    public void RejectsUnknownAndDuplicateSubtasks()
    {
        var progress = new SubtaskProgress([A, B], _clock);
        Assert.Equal("chain 1, subtask 0 is not tracked. (Parameter 'subtask')", Assert.Throws<ArgumentException>(() => progress.SlotOf(C)).Message);
        Assert.Equal(
            "chain 0, subtask 1 is listed twice. (Parameter 'subtasks')",
            Assert.Throws<ArgumentException>(() => new SubtaskProgress([A, B, B], _clock)).Message);
    }

    [Fact]
    public void EnterAndLeaveAllocateNothing()
    {
        var progress = new SubtaskProgress([A, B], TimeProvider.System);
        int a = progress.SlotOf(A);
        progress.EnterBatch(a);
        progress.LeaveBatch(a);
        _ = progress.FindStalled(progress.Now, Timeout);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            progress.EnterBatch(a);
            progress.LeaveBatch(a);
        }

        _ = progress.FindStalled(progress.Now, Timeout);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void AWatchdogOnAnotherThreadFindsTheOneSubtaskThatStopsReturning()
    {
        var progress = new SubtaskProgress([A, B, C], TimeProvider.System);
        using var stop = new CancellationTokenSource();
        using var stuck = new ManualResetEventSlim();
        int b = progress.SlotOf(B);

        // A and C process short batches as fast as they can; B enters one batch and never leaves it.
        // Dedicated threads, as subtasks have: a pool thread could be starved by the busy ones.
        Thread[] workers =
        [
            new(() => Busy(progress, progress.SlotOf(A), stop.Token)),
            new(() => Busy(progress, progress.SlotOf(C), stop.Token)),
            new(() =>
            {
                progress.EnterBatch(b);
                stuck.Set();
                stop.Token.WaitHandle.WaitOne();
            }),
        ];
        foreach (Thread worker in workers)
        {
            worker.Start();
        }

        Assert.True(stuck.Wait(TimeSpan.FromSeconds(10)));
        Thread.Sleep(200);
        StalledSubtask? stalled = progress.FindStalled(progress.Now, TimeSpan.FromMilliseconds(100));
        stop.Cancel();
        foreach (Thread worker in workers)
        {
            worker.Join();
        }

        Assert.Equal(B, stalled?.Subtask);
        Assert.True(stalled?.BusyFor >= TimeSpan.FromMilliseconds(100));
    }

    private static void Busy(SubtaskProgress progress, int slot, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            progress.EnterBatch(slot);
            progress.LeaveBatch(slot);
        }
    }

    [Fact]
    public void OptionsAfterATimeoutCheckEveryQuarterButAtLeastEveryTenSeconds()
    {
        Assert.Equal(TimeSpan.FromSeconds(5), StallDetectionOptions.After(TimeSpan.FromSeconds(20)).CheckInterval);
        StallDetectionOptions tenMinutes = StallDetectionOptions.After(TimeSpan.FromMinutes(10));
        Assert.Equal(TimeSpan.FromSeconds(10), tenMinutes.CheckInterval);
        Assert.True(tenMinutes.Enabled);
        Assert.False(StallDetectionOptions.Disabled.Enabled);
        Assert.Throws<ArgumentOutOfRangeException>(() => StallDetectionOptions.After(TimeSpan.Zero));
    }

    [Fact]
    public void StalledExceptionTellsTheUserWhatToDo()
    {
        var failure = new SubtaskStalledException(new StalledSubtask(B, 0, TimeSpan.FromSeconds(312)), TimeSpan.FromMinutes(5));
        Assert.Equal(
            "chain 0, subtask 1 has been inside one call of user code for 5m12s (the stall timeout is 5m), so it counts as failed. "
            + "If the call is legitimately this slow, raise the stall timeout; otherwise a thread dump shows where it is stuck.",
            failure.Message);
    }
}
