using System;
using System.Collections.Generic;
using System.Linq;
using Weir.Checkpointing.Alignment;
using Weir.Checkpointing.Coordinator;
using Xunit;

namespace Weir.Runtime.Tests;

/// <summary>
/// A clock that only moves when a test moves it, for both the wall clock and the monotonic
/// timestamp (the coordinator measures deadlines and durations with the latter).
/// </summary>
public sealed class SteppedClock : TimeProvider
{
    private long _ticks;

    public static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => _ticks;

    public override DateTimeOffset GetUtcNow() => Epoch.AddTicks(_ticks);

    public void Advance(TimeSpan by) => _ticks += by.Ticks;

    public void AdvanceSeconds(double seconds) => Advance(TimeSpan.FromSeconds(seconds));
}

public sealed class CheckpointCoordinatorTests
{
    private static readonly SubtaskId A = new(0, 0);
    private static readonly SubtaskId B = new(0, 1);
    private static readonly SubtaskId C = new(1, 0);
    private static readonly SubtaskId[] Subtasks = [A, B, C];

    private readonly SteppedClock _clock = new();

    private static SubtaskSnapshotReport Report(long bytes = 100, long full = 1000, double syncMs = 1, double asyncMs = 2, double alignMs = 0)
        => new(TimeSpan.FromMilliseconds(syncMs), TimeSpan.FromMilliseconds(asyncMs), TimeSpan.FromMilliseconds(alignMs), bytes, full);

    private CheckpointCoordinator Started(CheckpointOptions options, long? restored = null)
    {
        var coordinator = new CheckpointCoordinator(options, Subtasks, _clock);
        coordinator.Start(restored);
        return coordinator;
    }

    private static CheckpointOptions Every(double seconds, int tolerable = 0) => new()
    {
        Interval = TimeSpan.FromSeconds(seconds),
        Timeout = TimeSpan.FromSeconds(60),
        TolerableConsecutiveFailures = tolerable,
    };

    private static long[] Triggered(IReadOnlyList<CheckpointCommand> commands)
        => commands.OfType<InjectBarrier>().Select(b => b.CheckpointId).ToArray();

    /// <summary>Acknowledges from every subtask; returns the last call's commands.</summary>
    private static IReadOnlyList<CheckpointCommand> AckAll(CheckpointCoordinator coordinator, long id)
    {
        IReadOnlyList<CheckpointCommand> last = [];
        foreach (SubtaskId subtask in Subtasks)
        {
            last = coordinator.Acknowledge(id, subtask, Report());
        }

        return last;
    }

    private static IReadOnlyList<CheckpointCommand> Complete(CheckpointCoordinator coordinator, long id)
    {
        Assert.Contains(AckAll(coordinator, id), c => c is FinalizeCheckpoint f && f.CheckpointId == id);
        return coordinator.MarkCompleted(id);
    }

    // ---------------------------------------------------------------- options

    [Fact]
    public void Default_options_are_valid_and_match_Flink()
    {
        var options = new CheckpointOptions();
        Assert.Empty(options.Problems());
        Assert.Null(options.Interval);
        Assert.Equal(TimeSpan.FromMinutes(10), options.Timeout);
        Assert.Equal(1, options.MaxConcurrentCheckpoints);
        Assert.Equal(0, options.TolerableConsecutiveFailures);
        Assert.Equal(CheckpointingMode.ExactlyOnce, options.Mode);
    }

    [Fact]
    public void Invalid_options_name_every_problem()
    {
        var options = new CheckpointOptions
        {
            Interval = TimeSpan.Zero,
            Timeout = TimeSpan.FromSeconds(-1),
            MinPauseBetweenCheckpoints = TimeSpan.FromSeconds(-1),
            MaxConcurrentCheckpoints = 0,
            TolerableConsecutiveFailures = -1,
            Mode = (CheckpointingMode)7,
            StatisticsHistorySize = -1,
        };

        ArgumentException error = Assert.Throws<ArgumentException>(options.Validate);
        foreach (string name in new[] { "Interval", "Timeout", "MinPauseBetweenCheckpoints", "MaxConcurrentCheckpoints", "TolerableConsecutiveFailures", "Mode", "StatisticsHistorySize" })
        {
            Assert.Contains(name + " must", error.Message);
        }

        Assert.Throws<ArgumentException>(() => new CheckpointCoordinator(options, Subtasks, _clock));
    }

    [Fact]
    public void A_min_pause_with_several_concurrent_checkpoints_is_refused()
    {
        var options = new CheckpointOptions { MinPauseBetweenCheckpoints = TimeSpan.FromSeconds(1), MaxConcurrentCheckpoints = 2 };
        string problem = Assert.Single(options.Problems());
        Assert.Contains("requires MaxConcurrentCheckpoints = 1", problem);
    }

    [Fact]
    public void The_coordinator_refuses_no_subtasks_and_repeated_subtasks()
    {
        Assert.Throws<ArgumentException>(() => new CheckpointCoordinator(new CheckpointOptions(), [], _clock));
        Assert.Throws<ArgumentException>(() => new CheckpointCoordinator(new CheckpointOptions(), [A, A], _clock));
    }

    // ---------------------------------------------------------------- periodic triggering

    [Fact]
    public void Nothing_is_triggered_before_start()
    {
        var coordinator = new CheckpointCoordinator(Every(1), Subtasks, _clock);
        _clock.AdvanceSeconds(5);
        Assert.Empty(coordinator.Tick());
        Assert.Equal(CoordinatorState.Created, coordinator.State);
    }

    [Fact]
    public void Periodic_checkpoints_are_triggered_every_interval()
    {
        CheckpointCoordinator coordinator = Started(Every(10) with { MaxConcurrentCheckpoints = 5 });

        _clock.AdvanceSeconds(9.999);
        Assert.Empty(coordinator.Tick());

        _clock.AdvanceSeconds(0.001);
        InjectBarrier barrier = Assert.IsType<InjectBarrier>(Assert.Single(coordinator.Tick()));
        Assert.Equal(1, barrier.CheckpointId);
        Assert.Equal(SteppedClock.Epoch.AddSeconds(10), barrier.Timestamp);
        Assert.Equal(CheckpointTrigger.Periodic, barrier.Trigger);
        Assert.Equal(CheckpointingMode.ExactlyOnce, barrier.Mode);

        _clock.AdvanceSeconds(5);
        Assert.Empty(coordinator.Tick());
        _clock.AdvanceSeconds(5);
        Assert.Equal([2L], Triggered(coordinator.Tick()));
        Assert.Equal(2, coordinator.InFlightCount);
    }

    [Fact]
    public void A_late_tick_triggers_once_and_the_next_interval_counts_from_that_trigger()
    {
        CheckpointCoordinator coordinator = Started(Every(10) with { MaxConcurrentCheckpoints = 5 });
        _clock.AdvanceSeconds(35);
        Assert.Equal([1L], Triggered(coordinator.Tick()));
        _clock.AdvanceSeconds(9);
        Assert.Empty(coordinator.Tick());
        _clock.AdvanceSeconds(1);
        Assert.Equal([2L], Triggered(coordinator.Tick()));
    }

    [Fact]
    public void Max_concurrent_checkpoints_delays_a_due_trigger_until_one_ends()
    {
        CheckpointCoordinator coordinator = Started(Every(1) with { MaxConcurrentCheckpoints = 2 });
        _clock.AdvanceSeconds(1);
        Assert.Equal([1L], Triggered(coordinator.Tick()));
        _clock.AdvanceSeconds(1);
        Assert.Equal([2L], Triggered(coordinator.Tick()));
        _clock.AdvanceSeconds(1);
        Assert.Empty(coordinator.Tick());
        Assert.Equal(2, coordinator.InFlightCount);

        Complete(coordinator, 1);
        Assert.Equal([3L], Triggered(coordinator.Tick()));
    }

    [Fact]
    public void Min_pause_is_measured_from_the_end_of_the_last_completed_checkpoint()
    {
        CheckpointCoordinator coordinator = Started(Every(10) with { MinPauseBetweenCheckpoints = TimeSpan.FromSeconds(4) });
        _clock.AdvanceSeconds(10);
        Assert.Equal([1L], Triggered(coordinator.Tick()));

        // The checkpoint takes 8 s, completing at 18 s; the interval says 20 s, the pause 22 s.
        _clock.AdvanceSeconds(8);
        Complete(coordinator, 1);
        _clock.AdvanceSeconds(2);
        Assert.Empty(coordinator.Tick());
        Assert.Equal(TimeSpan.FromSeconds(2), coordinator.DelayUntilNextTick());
        _clock.AdvanceSeconds(1.999);
        Assert.Empty(coordinator.Tick());
        _clock.AdvanceSeconds(0.001);
        Assert.Equal([2L], Triggered(coordinator.Tick()));
    }

    [Fact]
    public void An_aborted_checkpoint_does_not_start_a_min_pause()
    {
        CheckpointCoordinator coordinator = Started(Every(10, tolerable: 5) with { MinPauseBetweenCheckpoints = TimeSpan.FromSeconds(4) });
        _clock.AdvanceSeconds(10);
        Assert.Equal([1L], Triggered(coordinator.Tick()));
        _clock.AdvanceSeconds(9);
        coordinator.Decline(1, B, CheckpointDeclineReason.SnapshotFailed, "disk full");
        _clock.AdvanceSeconds(1);
        Assert.Equal([2L], Triggered(coordinator.Tick()));
    }

    [Fact]
    public void Without_an_interval_only_manual_checkpoints_are_triggered()
    {
        CheckpointCoordinator coordinator = Started(new CheckpointOptions());
        _clock.AdvanceSeconds(3600);
        Assert.Empty(coordinator.Tick());
        Assert.Null(coordinator.DelayUntilNextTick());

        InjectBarrier barrier = Assert.IsType<InjectBarrier>(Assert.Single(coordinator.TriggerManually()));
        Assert.Equal(CheckpointTrigger.Manual, barrier.Trigger);
        Assert.Equal(1, barrier.CheckpointId);
    }

    [Fact]
    public void A_manual_trigger_waits_for_a_free_slot_and_moves_the_periodic_schedule()
    {
        CheckpointCoordinator coordinator = Started(Every(10));
        _clock.AdvanceSeconds(4);
        Assert.Equal([1L], Triggered(coordinator.TriggerManually()));

        // At the limit: the second request is queued, and two requests give two checkpoints.
        Assert.Empty(coordinator.TriggerManually());
        Assert.Empty(coordinator.TriggerManually());
        Complete(coordinator, 1);
        Assert.Null(coordinator.PhaseOf(1));
        Assert.Equal([2L], Triggered(coordinator.Tick()));
        Complete(coordinator, 2);
        InjectBarrier third = Assert.IsType<InjectBarrier>(Assert.Single(coordinator.Tick()));
        Assert.Equal(CheckpointTrigger.Manual, third.Trigger);
        Complete(coordinator, 3);

        // The periodic trigger was due at 10 s, but counts from the last (manual) trigger at 4 s.
        _clock.AdvanceSeconds(9.5);
        Assert.Empty(coordinator.Tick());
        _clock.AdvanceSeconds(0.5);
        Assert.Equal([4L], Triggered(coordinator.Tick()));
    }

    [Fact]
    public void Delay_until_next_tick_reports_the_earliest_of_trigger_and_timeout()
    {
        CheckpointCoordinator coordinator = Started(Every(10) with { Timeout = TimeSpan.FromSeconds(3), MaxConcurrentCheckpoints = 2 });
        Assert.Equal(TimeSpan.FromSeconds(10), coordinator.DelayUntilNextTick());
        _clock.AdvanceSeconds(10);
        Assert.Equal(TimeSpan.Zero, coordinator.DelayUntilNextTick());
        coordinator.Tick();
        Assert.Equal(TimeSpan.FromSeconds(3), coordinator.DelayUntilNextTick());
    }

    // ---------------------------------------------------------------- acknowledgements and completion

    [Fact]
    public void A_checkpoint_is_finalized_only_after_every_subtask_acknowledged()
    {
        CheckpointCoordinator coordinator = Started(new CheckpointOptions());
        coordinator.TriggerManually();

        Assert.Empty(coordinator.Acknowledge(1, C, Report(bytes: 3)));
        Assert.Empty(coordinator.Acknowledge(1, A, Report(bytes: 1)));
        Assert.Equal(CheckpointPhase.Pending, coordinator.PhaseOf(1));

        FinalizeCheckpoint finalize = Assert.IsType<FinalizeCheckpoint>(Assert.Single(coordinator.Acknowledge(1, B, Report(bytes: 2))));
        Assert.Equal(1, finalize.CheckpointId);
        Assert.Equal([A, B, C], finalize.Acknowledgements.Select(a => a.Subtask));
        Assert.Equal([1L, 2L, 3L], finalize.Acknowledgements.Select(a => a.Report.BytesWritten));
        Assert.Equal(CheckpointPhase.Finalizing, coordinator.PhaseOf(1));

        // Completion comes only from the caller, once the metadata is durable.
        Assert.Equal(0, coordinator.LatestCompletedCheckpointId);
        Assert.Equal([new NotifyCheckpointComplete(1)], coordinator.MarkCompleted(1));
        Assert.Equal(1, coordinator.LatestCompletedCheckpointId);
        Assert.Equal(0, coordinator.InFlightCount);
    }

    [Fact]
    public void Repeated_and_late_acknowledgements_are_ignored_or_discarded()
    {
        CheckpointCoordinator coordinator = Started(new CheckpointOptions { TolerableConsecutiveFailures = 3 });
        coordinator.TriggerManually();
        coordinator.Acknowledge(1, A, Report());
        Assert.Empty(coordinator.Acknowledge(1, A, Report()));
        coordinator.Decline(1, B, CheckpointDeclineReason.SnapshotFailed, "boom");

        // C wrote its snapshot before it learnt of the abort: nothing will reference it.
        Assert.Equal([new DiscardLateSnapshot(1, C)], coordinator.Acknowledge(1, C, Report()));
    }

    [Fact]
    public void Acknowledging_an_unknown_subtask_or_an_unissued_checkpoint_throws()
    {
        CheckpointCoordinator coordinator = Started(new CheckpointOptions());
        coordinator.TriggerManually();
        Assert.Throws<ArgumentException>(() => coordinator.Acknowledge(1, new SubtaskId(7, 0), Report()));
        Assert.Throws<ArgumentException>(() => coordinator.Acknowledge(2, A, Report()));
        Assert.Throws<ArgumentException>(() => coordinator.Decline(0, A, CheckpointDeclineReason.SnapshotFailed, "x"));
    }

    [Fact]
    public void Completing_a_checkpoint_that_is_not_finalizing_throws()
    {
        CheckpointCoordinator coordinator = Started(new CheckpointOptions());
        coordinator.TriggerManually();
        InvalidOperationException error = Assert.Throws<InvalidOperationException>(() => coordinator.MarkCompleted(1));
        Assert.Contains("Pending", error.Message);
        Assert.Throws<InvalidOperationException>(() => coordinator.MarkFinalizeFailed(5, "x"));
    }

    [Fact]
    public void Metadata_is_written_one_checkpoint_at_a_time_and_a_completion_subsumes_older_ones()
    {
        CheckpointCoordinator coordinator = Started(new CheckpointOptions { MaxConcurrentCheckpoints = 3 });
        coordinator.TriggerManually();
        coordinator.TriggerManually();
        coordinator.TriggerManually();

        // 2 is acknowledged first and finalized; 3 then waits for it; 1 is still pending.
        Assert.Contains(AckAll(coordinator, 2), c => c is FinalizeCheckpoint { CheckpointId: 2 });
        Assert.Empty(AckAll(coordinator, 3));
        Assert.Equal(CheckpointPhase.AwaitingFinalization, coordinator.PhaseOf(3));

        IReadOnlyList<CheckpointCommand> commands = coordinator.MarkCompleted(2);
        Assert.Equal(3, commands.Count);
        Assert.Equal(new NotifyCheckpointComplete(2), commands[0]);
        NotifyCheckpointAborted subsumed = Assert.IsType<NotifyCheckpointAborted>(commands[1]);
        Assert.Equal((1L, CheckpointAbortReason.Subsumed), (subsumed.CheckpointId, subsumed.Reason));
        Assert.Equal(3, Assert.IsType<FinalizeCheckpoint>(commands[2]).CheckpointId);

        Assert.Equal([new NotifyCheckpointComplete(3)], coordinator.MarkCompleted(3));
        Assert.Equal(0, coordinator.Statistics().ConsecutiveFailures);
    }

    [Fact]
    public void A_failed_metadata_write_aborts_the_checkpoint_as_a_failure_and_finalizes_the_next()
    {
        CheckpointCoordinator coordinator = Started(new CheckpointOptions { MaxConcurrentCheckpoints = 2, TolerableConsecutiveFailures = 1 });
        coordinator.TriggerManually();
        coordinator.TriggerManually();
        AckAll(coordinator, 1);
        AckAll(coordinator, 2);

        IReadOnlyList<CheckpointCommand> commands = coordinator.MarkFinalizeFailed(1, "rename failed");
        NotifyCheckpointAborted aborted = Assert.IsType<NotifyCheckpointAborted>(commands[0]);
        Assert.Equal(CheckpointAbortReason.FinalizeFailed, aborted.Reason);
        Assert.Contains("rename failed", aborted.Detail);
        Assert.Equal(2, Assert.IsType<FinalizeCheckpoint>(commands[1]).CheckpointId);
        Assert.Equal(1, coordinator.Statistics().ConsecutiveFailures);

        Assert.Equal([new NotifyCheckpointComplete(2)], coordinator.MarkCompleted(2));
    }

    // ---------------------------------------------------------------- failures

    [Fact]
    public void A_checkpoint_not_acknowledged_within_the_timeout_expires_as_a_failure()
    {
        CheckpointCoordinator coordinator = Started(Every(100, tolerable: 1) with { Timeout = TimeSpan.FromSeconds(30) });
        coordinator.TriggerManually();
        coordinator.Acknowledge(1, A, Report());

        _clock.AdvanceSeconds(29.999);
        Assert.Empty(coordinator.Tick());
        _clock.AdvanceSeconds(0.001);
        NotifyCheckpointAborted aborted = Assert.IsType<NotifyCheckpointAborted>(Assert.Single(coordinator.Tick()));
        Assert.Equal((1L, CheckpointAbortReason.Expired), (aborted.CheckpointId, aborted.Reason));
        Assert.Equal(1, coordinator.Statistics().ConsecutiveFailures);
        Assert.Equal([new DiscardLateSnapshot(1, B)], coordinator.Acknowledge(1, B, Report()));
    }

    [Fact]
    public void A_failed_snapshot_decline_aborts_the_checkpoint_as_a_failure()
    {
        CheckpointCoordinator coordinator = Started(new CheckpointOptions { TolerableConsecutiveFailures = 1 });
        coordinator.TriggerManually();
        NotifyCheckpointAborted aborted = Assert.IsType<NotifyCheckpointAborted>(
            Assert.Single(coordinator.Decline(1, C, CheckpointDeclineReason.SnapshotFailed, "disk full")));
        Assert.Equal(CheckpointAbortReason.Declined, aborted.Reason);
        Assert.Contains("disk full", aborted.Detail);
        Assert.Contains(C.ToString(), aborted.Detail);
        Assert.Equal(1, coordinator.Statistics().ConsecutiveFailures);

        // A second decline of the same checkpoint changes nothing.
        Assert.Empty(coordinator.Decline(1, A, CheckpointDeclineReason.SnapshotFailed, "again"));
        Assert.Equal(1, coordinator.Statistics().ConsecutiveFailures);
    }

    [Theory]
    [InlineData(CheckpointDeclineReason.SubsumedByNewerBarrier)]
    [InlineData(CheckpointDeclineReason.CancelledUpstream)]
    public void A_decline_caused_elsewhere_aborts_without_counting_a_failure(CheckpointDeclineReason reason)
    {
        CheckpointCoordinator coordinator = Started(new CheckpointOptions());
        coordinator.TriggerManually();
        Assert.IsType<NotifyCheckpointAborted>(Assert.Single(coordinator.Decline(1, A, reason, "not mine")));
        Assert.Equal(0, coordinator.Statistics().ConsecutiveFailures);
        Assert.Equal(CoordinatorState.Running, coordinator.State);
    }

    [Fact]
    public void Exceeding_the_tolerable_consecutive_failures_fails_the_job_and_suspends()
    {
        CheckpointCoordinator coordinator = Started(Every(1, tolerable: 2) with { MaxConcurrentCheckpoints = 2 });
        for (long id = 1; id <= 2; id++)
        {
            coordinator.TriggerManually();
            Assert.DoesNotContain(coordinator.Decline(id, A, CheckpointDeclineReason.SnapshotFailed, "x"), c => c is FailJob);
        }

        coordinator.TriggerManually();
        coordinator.TriggerManually();
        IReadOnlyList<CheckpointCommand> commands = coordinator.Decline(3, A, CheckpointDeclineReason.SnapshotFailed, "third");
        Assert.Equal(3, commands.Count);
        Assert.Equal(CheckpointAbortReason.Declined, Assert.IsType<NotifyCheckpointAborted>(commands[0]).Reason);
        FailJob fail = Assert.IsType<FailJob>(commands[1]);
        Assert.Contains("3 checkpoint(s) failed in a row", fail.Reason);
        Assert.Contains("third", fail.Reason);
        NotifyCheckpointAborted other = Assert.IsType<NotifyCheckpointAborted>(commands[2]);
        Assert.Equal((4L, CheckpointAbortReason.JobFailed), (other.CheckpointId, other.Reason));

        Assert.Equal(CoordinatorState.Suspended, coordinator.State);
        Assert.Equal(0, coordinator.Statistics().ConsecutiveFailures);
        _clock.AdvanceSeconds(10);
        Assert.Empty(coordinator.Tick());
        Assert.Empty(coordinator.JobFailed("the FailJob command took effect"));
    }

    [Fact]
    public void A_completed_checkpoint_resets_the_failure_count()
    {
        CheckpointCoordinator coordinator = Started(new CheckpointOptions { TolerableConsecutiveFailures = 1 });
        coordinator.TriggerManually();
        coordinator.Decline(1, A, CheckpointDeclineReason.SnapshotFailed, "x");
        Assert.Equal(1, coordinator.Statistics().ConsecutiveFailures);

        coordinator.TriggerManually();
        Complete(coordinator, 2);
        Assert.Equal(0, coordinator.Statistics().ConsecutiveFailures);

        // One failure is tolerated again.
        coordinator.TriggerManually();
        Assert.DoesNotContain(coordinator.Decline(3, A, CheckpointDeclineReason.SnapshotFailed, "x"), c => c is FailJob);
        coordinator.TriggerManually();
        Assert.Contains(coordinator.Decline(4, A, CheckpointDeclineReason.SnapshotFailed, "x"), c => c is FailJob);
    }

    [Fact]
    public void An_older_checkpoint_overtaken_by_a_completion_is_subsumed_not_failed()
    {
        CheckpointCoordinator coordinator = Started(new CheckpointOptions { MaxConcurrentCheckpoints = 2, Timeout = TimeSpan.FromSeconds(5) });
        coordinator.TriggerManually();
        coordinator.TriggerManually();
        coordinator.Acknowledge(1, A, Report());
        Complete(coordinator, 2);

        CheckpointSummary first = coordinator.Statistics().History.Single(s => s.Id == 1);
        Assert.Equal(CheckpointAbortReason.Subsumed, first.AbortReason);
        Assert.Equal(0, coordinator.Statistics().ConsecutiveFailures);

        // It can no longer expire or be declined: its stragglers are discarded.
        _clock.AdvanceSeconds(10);
        Assert.Empty(coordinator.Tick());
        Assert.Equal([new DiscardLateSnapshot(1, B)], coordinator.Acknowledge(1, B, Report()));
        Assert.Empty(coordinator.Decline(1, C, CheckpointDeclineReason.SnapshotFailed, "late"));
        Assert.Equal(CoordinatorState.Running, coordinator.State);
    }

    // ---------------------------------------------------------------- job failure, restart, IDs

    [Fact]
    public void Job_failure_aborts_pending_checkpoints_without_counting_and_restart_resumes()
    {
        CheckpointCoordinator coordinator = Started(Every(10));
        coordinator.TriggerManually();
        NotifyCheckpointAborted aborted = Assert.IsType<NotifyCheckpointAborted>(Assert.Single(coordinator.JobFailed("task 3 threw")));
        Assert.Equal(CheckpointAbortReason.JobFailed, aborted.Reason);
        Assert.Contains("task 3 threw", aborted.Detail);
        Assert.Equal(0, coordinator.Statistics().ConsecutiveFailures);

        // Manual requests wait for the restart; a late acknowledgement is discarded.
        Assert.Empty(coordinator.TriggerManually());
        Assert.Equal([new DiscardLateSnapshot(1, A)], coordinator.Acknowledge(1, A, Report()));
        _clock.AdvanceSeconds(20);
        Assert.Empty(coordinator.Tick());

        Assert.Equal([2L], Triggered(coordinator.JobRestarted(restoredCheckpointId: null)));
        Complete(coordinator, 2);
        _clock.AdvanceSeconds(10);
        Assert.Equal([3L], Triggered(coordinator.Tick()));
    }

    [Fact]
    public void Checkpoint_ids_stay_monotonic_across_restores()
    {
        CheckpointCoordinator coordinator = Started(new CheckpointOptions(), restored: 41);
        Assert.Equal(42, coordinator.NextCheckpointId);
        Assert.Equal([42L], Triggered(coordinator.TriggerManually()));
        Complete(coordinator, 42);
        coordinator.TriggerManually();
        coordinator.JobFailed("crash");

        // Restored from 42, but 43 was already issued (and aborted): never reuse it.
        coordinator.JobRestarted(restoredCheckpointId: 42);
        Assert.Equal([44L], Triggered(coordinator.TriggerManually()));

        // A restore from a checkpoint of a newer run (e.g. an external one) moves the IDs above it.
        coordinator.JobFailed("crash");
        coordinator.JobRestarted(restoredCheckpointId: 100);
        Assert.Equal([101L], Triggered(coordinator.TriggerManually()));
        Assert.Equal(100, coordinator.Statistics().RestoredCheckpointId);
    }

    [Fact]
    public void A_checkpoint_finalizing_when_the_job_fails_completes_without_notifying_the_dead_attempt()
    {
        CheckpointCoordinator coordinator = Started(new CheckpointOptions());
        coordinator.TriggerManually();
        AckAll(coordinator, 1);
        Assert.Empty(coordinator.JobFailed("crash"));
        Assert.Equal(CheckpointPhase.Finalizing, coordinator.PhaseOf(1));

        coordinator.JobRestarted(restoredCheckpointId: null);
        Assert.Empty(coordinator.MarkCompleted(1));
        Assert.Equal(1, coordinator.LatestCompletedCheckpointId);
    }

    [Fact]
    public void Start_and_restart_are_only_valid_from_their_states()
    {
        CheckpointCoordinator coordinator = Started(new CheckpointOptions());
        Assert.Throws<InvalidOperationException>(() => coordinator.Start());
        Assert.Throws<InvalidOperationException>(() => coordinator.JobRestarted(null));
        coordinator.JobFailed("x");
        Assert.Throws<InvalidOperationException>(() => coordinator.Start());
        Assert.Throws<ArgumentOutOfRangeException>(() => coordinator.JobRestarted(0));
        Assert.Equal(CoordinatorState.Suspended, coordinator.State);
        coordinator.JobRestarted(null);
        Assert.Equal(CoordinatorState.Running, coordinator.State);
    }

    // ---------------------------------------------------------------- statistics

    [Fact]
    public void Statistics_aggregate_subtask_reports_and_durations()
    {
        CheckpointCoordinator coordinator = Started(new CheckpointOptions { TolerableConsecutiveFailures = 5, MaxConcurrentCheckpoints = 2 });
        _clock.AdvanceSeconds(1);
        coordinator.TriggerManually();
        _clock.AdvanceSeconds(1);
        coordinator.Acknowledge(1, B, Report(bytes: 20, full: 200, syncMs: 5, asyncMs: 50, alignMs: 7));
        _clock.AdvanceSeconds(1);
        coordinator.Acknowledge(1, A, Report(bytes: 10, full: 100, syncMs: 3, asyncMs: 80, alignMs: 0));
        coordinator.Acknowledge(1, C, Report(bytes: 30, full: 300, syncMs: 1, asyncMs: 10, alignMs: 2));
        _clock.AdvanceSeconds(1);
        coordinator.MarkCompleted(1);
        coordinator.TriggerManually();
        coordinator.Acknowledge(2, A, Report());

        CheckpointStatistics statistics = coordinator.Statistics();
        Assert.Equal((2L, 1L, 0L, 1), (statistics.Triggered, statistics.Completed, statistics.Aborted, statistics.InProgress));
        Assert.Equal([2L, 1L], statistics.History.Select(s => s.Id));

        CheckpointSummary first = Assert.IsType<CheckpointSummary>(statistics.LatestCompleted);
        Assert.Equal(CheckpointStatus.Completed, first.Status);
        Assert.Equal(CheckpointTrigger.Manual, first.Trigger);
        Assert.Equal(SteppedClock.Epoch.AddSeconds(1), first.TriggerTime);
        Assert.Equal(TimeSpan.FromSeconds(3), first.EndToEndDuration);
        Assert.Equal((3, 3), (first.AcknowledgedSubtasks, first.TotalSubtasks));
        Assert.Equal(60, first.BytesWritten);
        Assert.Equal(600, first.FullStateSize);
        Assert.Equal(TimeSpan.FromMilliseconds(5), first.MaxSyncDuration);
        Assert.Equal(TimeSpan.FromMilliseconds(80), first.MaxAsyncDuration);
        Assert.Equal(TimeSpan.FromMilliseconds(7), first.MaxAlignmentDuration);
        Assert.Equal([A, B, C], first.Subtasks.Select(s => s.Subtask));
        Assert.Equal([2.0, 1.0, 2.0], first.Subtasks.Select(s => s.AcknowledgedAfter.TotalSeconds));

        CheckpointSummary second = statistics.History[0];
        Assert.Equal(CheckpointStatus.InProgress, second.Status);
        Assert.Null(second.EndToEndDuration);
        Assert.Equal(1, second.AcknowledgedSubtasks);

        _clock.AdvanceSeconds(2);
        coordinator.Decline(2, B, CheckpointDeclineReason.SnapshotFailed, "disk full");
        CheckpointSummary aborted = Assert.IsType<CheckpointSummary>(coordinator.Statistics().LatestAborted);
        Assert.Equal((2L, CheckpointStatus.Aborted, CheckpointAbortReason.Declined), (aborted.Id, aborted.Status, aborted.AbortReason));
        Assert.Equal(TimeSpan.FromSeconds(2), aborted.EndToEndDuration);
        Assert.Contains("disk full", aborted.AbortDetail);

        // The earlier snapshot did not change.
        Assert.Equal(CheckpointStatus.InProgress, statistics.History[0].Status);
    }

    [Fact]
    public void Statistics_history_keeps_the_newest_ended_checkpoints()
    {
        CheckpointCoordinator coordinator = Started(new CheckpointOptions { StatisticsHistorySize = 2, TolerableConsecutiveFailures = 100 });
        for (int i = 0; i < 5; i++)
        {
            coordinator.TriggerManually();
            Complete(coordinator, i + 1);
        }

        coordinator.TriggerManually();
        CheckpointStatistics statistics = coordinator.Statistics();
        Assert.Equal([6L, 5L, 4L], statistics.History.Select(s => s.Id));
        Assert.Equal(5, statistics.LatestCompleted!.Id);
        Assert.Equal(5, statistics.Completed);
    }

    [Fact]
    public void Statistics_round_trip_through_source_generated_json()
    {
        CheckpointCoordinator coordinator = Started(new CheckpointOptions { TolerableConsecutiveFailures = 5 }, restored: 9);
        coordinator.TriggerManually();
        _clock.AdvanceSeconds(1.5);
        Complete(coordinator, 10);
        coordinator.TriggerManually();
        coordinator.Acknowledge(11, C, Report(bytes: 7, alignMs: 12.5));
        coordinator.Decline(11, A, CheckpointDeclineReason.SnapshotFailed, "quote \" and newline \n");
        coordinator.TriggerManually();

        CheckpointStatistics statistics = coordinator.Statistics();
        string json = statistics.ToJson();
        Assert.Contains("\"restoredCheckpointId\": 9", json);
        Assert.Contains("\"status\": \"Completed\"", json);
        Assert.Contains("\"abortReason\": \"Declined\"", json);
        Assert.Contains("\"bytesWritten\": 300", json);

        CheckpointStatistics read = CheckpointStatistics.FromJson(json);
        Assert.Equal(json, read.ToJson());
        Assert.Equal(statistics.History.Count, read.History.Count);
        Assert.Equal(statistics.LatestAborted!.AbortDetail, read.LatestAborted!.AbortDetail);
        Assert.Equal(statistics.LatestCompleted!.Subtasks, read.LatestCompleted!.Subtasks);
        Assert.Equal(TimeSpan.FromSeconds(1.5), read.LatestCompleted.EndToEndDuration);
        Assert.Throws<System.Text.Json.JsonException>(() => CheckpointStatistics.FromJson("null"));
    }
}

public sealed class BarrierAlignerTests
{
    private readonly SteppedClock _clock = new();

    private BarrierAligner Aligner(int channels, CheckpointingMode mode = CheckpointingMode.ExactlyOnce) => new(channels, mode, _clock);

    private static TriggerSnapshot Snapshot(long id, double alignmentSeconds) => new(id, TimeSpan.FromSeconds(alignmentSeconds));

    private static readonly UnblockAllChannels Unblock = UnblockAllChannels.Instance;

    // ---------------------------------------------------------------- exactly-once (aligned)

    [Fact]
    public void A_single_channel_snapshots_on_its_barrier_without_blocking()
    {
        BarrierAligner aligner = Aligner(1);
        Assert.Equal([Snapshot(1, 0)], aligner.OnBarrier(0, 1));
        Assert.False(aligner.IsBlocked(0));
        Assert.Null(aligner.CurrentCheckpointId);
    }

    [Fact]
    public void Exactly_once_blocks_each_channel_that_delivered_until_all_have()
    {
        BarrierAligner aligner = Aligner(3);
        Assert.Equal([new BlockChannel(0)], aligner.OnBarrier(0, 1));
        Assert.Equal(1, aligner.CurrentCheckpointId);
        _clock.AdvanceSeconds(2);
        Assert.Equal([new BlockChannel(2)], aligner.OnBarrier(2, 1));
        Assert.True(aligner.IsBlocked(0));
        Assert.False(aligner.IsBlocked(1));
        Assert.True(aligner.IsBlocked(2));

        // Snapshot first, then unblock; the alignment ran from the first barrier to the last.
        _clock.AdvanceSeconds(1);
        Assert.Equal<AlignmentAction>([Snapshot(1, 3), Unblock], aligner.OnBarrier(1, 1));
        Assert.False(aligner.IsBlocked(0));
        Assert.False(aligner.IsBlocked(2));
        Assert.Null(aligner.CurrentCheckpointId);

        // The next checkpoint aligns from scratch.
        Assert.Equal([new BlockChannel(1)], aligner.OnBarrier(1, 2));
    }

    [Fact]
    public void A_newer_barrier_overtaking_an_alignment_aborts_the_older_checkpoint()
    {
        BarrierAligner aligner = Aligner(3);
        aligner.OnBarrier(0, 1);
        Assert.Equal<AlignmentAction>(
            [new AbortCheckpoint(1, CheckpointDeclineReason.SubsumedByNewerBarrier), Unblock, new BlockChannel(1)],
            aligner.OnBarrier(1, 2));
        Assert.False(aligner.IsBlocked(0));
        Assert.Equal(2, aligner.CurrentCheckpointId);

        // Barrier 1, still travelling on channel 2, is stale now.
        Assert.Empty(aligner.OnBarrier(2, 1));
        Assert.Equal([new BlockChannel(0)], aligner.OnBarrier(0, 2));
        Assert.Equal<AlignmentAction>([Snapshot(2, 0), Unblock], aligner.OnBarrier(2, 2));

        // So are leftovers of any handled checkpoint, and a cancellation of the overtaken one.
        Assert.Empty(aligner.OnBarrier(0, 2));
        Assert.Empty(aligner.OnCancellation(1));
    }

    [Fact]
    public void Ended_channels_count_as_aligned()
    {
        BarrierAligner aligner = Aligner(3);
        Assert.Empty(aligner.OnEndOfInput(1));
        Assert.Equal([new BlockChannel(0)], aligner.OnBarrier(0, 1));
        Assert.Equal<AlignmentAction>([Snapshot(1, 0), Unblock], aligner.OnBarrier(2, 1));

        // With one live channel left, its barrier snapshots at once.
        Assert.Empty(aligner.OnEndOfInput(2));
        Assert.Equal([Snapshot(2, 0)], aligner.OnBarrier(0, 2));
    }

    [Fact]
    public void An_end_of_input_can_complete_an_alignment()
    {
        BarrierAligner aligner = Aligner(3);
        aligner.OnBarrier(0, 1);
        _clock.AdvanceSeconds(4);
        Assert.Empty(aligner.OnEndOfInput(1));
        Assert.Equal<AlignmentAction>([Snapshot(1, 4), Unblock], aligner.OnEndOfInput(2));
        Assert.False(aligner.IsBlocked(0));
    }

    [Fact]
    public void A_cancellation_aborts_the_alignment_and_later_barriers_of_it_are_ignored()
    {
        BarrierAligner aligner = Aligner(2);
        aligner.OnBarrier(0, 1);
        Assert.Equal<AlignmentAction>([new AbortCheckpoint(1, CheckpointDeclineReason.CancelledUpstream), Unblock], aligner.OnCancellation(1));
        Assert.False(aligner.IsBlocked(0));
        Assert.Empty(aligner.OnBarrier(1, 1));
        Assert.Empty(aligner.OnCancellation(1));
    }

    [Fact]
    public void A_cancellation_of_a_checkpoint_not_seen_yet_is_forwarded_and_remembered()
    {
        BarrierAligner aligner = Aligner(2);
        Assert.Equal([new AbortCheckpoint(5, CheckpointDeclineReason.CancelledUpstream)], aligner.OnCancellation(5));
        Assert.Empty(aligner.OnBarrier(0, 5));
        Assert.Empty(aligner.OnBarrier(1, 5));
        Assert.Equal([new BlockChannel(0)], aligner.OnBarrier(0, 6));
    }

    [Fact]
    public void A_cancellation_of_a_newer_checkpoint_also_aborts_the_alignment_in_progress()
    {
        BarrierAligner aligner = Aligner(2);
        aligner.OnBarrier(1, 3);
        Assert.Equal<AlignmentAction>(
            [new AbortCheckpoint(3, CheckpointDeclineReason.SubsumedByNewerBarrier), new AbortCheckpoint(4, CheckpointDeclineReason.CancelledUpstream), Unblock],
            aligner.OnCancellation(4));
        Assert.Null(aligner.CurrentCheckpointId);
        Assert.Empty(aligner.OnBarrier(0, 3));
    }

    [Fact]
    public void Protocol_violations_by_the_caller_throw()
    {
        BarrierAligner aligner = Aligner(3);
        aligner.OnBarrier(0, 1);
        Assert.Throws<InvalidOperationException>(() => aligner.OnBarrier(0, 2));
        Assert.Throws<InvalidOperationException>(() => aligner.OnEndOfInput(0));
        aligner.OnEndOfInput(1);
        Assert.Throws<InvalidOperationException>(() => aligner.OnEndOfInput(1));
        Assert.Throws<InvalidOperationException>(() => aligner.OnBarrier(1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => aligner.OnBarrier(3, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BarrierAligner(0, CheckpointingMode.ExactlyOnce));
    }

    // ---------------------------------------------------------------- at-least-once (not aligned)

    [Fact]
    public void At_least_once_never_blocks_and_snapshots_on_the_last_barrier()
    {
        BarrierAligner aligner = Aligner(3, CheckpointingMode.AtLeastOnce);
        Assert.Empty(aligner.OnBarrier(0, 1));
        Assert.False(aligner.IsBlocked(0));
        _clock.AdvanceSeconds(1);
        Assert.Empty(aligner.OnBarrier(2, 1));
        _clock.AdvanceSeconds(1);
        Assert.Equal([Snapshot(1, 2)], aligner.OnBarrier(1, 1));
    }

    [Fact]
    public void At_least_once_counts_several_checkpoints_at_once()
    {
        BarrierAligner aligner = Aligner(2, CheckpointingMode.AtLeastOnce);

        // Channel 0 is fast: it delivers barrier 2 before channel 1 delivers barrier 1.
        Assert.Empty(aligner.OnBarrier(0, 1));
        Assert.Empty(aligner.OnBarrier(0, 2));
        Assert.Equal(1, aligner.CurrentCheckpointId);
        Assert.Equal([Snapshot(1, 0)], aligner.OnBarrier(1, 1));
        Assert.Equal([Snapshot(2, 0)], aligner.OnBarrier(1, 2));
    }

    [Fact]
    public void At_least_once_counts_an_older_checkpoint_first_even_if_its_first_barrier_comes_later()
    {
        BarrierAligner aligner = Aligner(2, CheckpointingMode.AtLeastOnce);
        Assert.Empty(aligner.OnBarrier(0, 2));
        Assert.Empty(aligner.OnBarrier(1, 1));
        Assert.Equal(1, aligner.CurrentCheckpointId);
        Assert.Equal<AlignmentAction>([new AbortCheckpoint(1, CheckpointDeclineReason.SubsumedByNewerBarrier), Snapshot(2, 0)], aligner.OnBarrier(1, 2));
    }

    [Fact]
    public void At_least_once_a_newer_complete_checkpoint_aborts_older_incomplete_ones()
    {
        BarrierAligner aligner = Aligner(3, CheckpointingMode.AtLeastOnce);
        aligner.OnBarrier(0, 1);
        aligner.OnBarrier(0, 2);
        aligner.OnBarrier(1, 2);
        Assert.Equal<AlignmentAction>([new AbortCheckpoint(1, CheckpointDeclineReason.SubsumedByNewerBarrier), Snapshot(2, 0)], aligner.OnBarrier(2, 2));
        Assert.Empty(aligner.OnBarrier(1, 1));
        Assert.Null(aligner.CurrentCheckpointId);
    }

    [Fact]
    public void At_least_once_an_ended_channel_counts_once_whether_or_not_it_delivered()
    {
        BarrierAligner aligner = Aligner(3, CheckpointingMode.AtLeastOnce);
        aligner.OnBarrier(0, 1);
        Assert.Empty(aligner.OnEndOfInput(0));
        Assert.Empty(aligner.OnBarrier(1, 1));
        Assert.Equal([Snapshot(1, 0)], aligner.OnEndOfInput(2));
        Assert.Equal([Snapshot(2, 0)], aligner.OnBarrier(1, 2));
    }

    [Fact]
    public void At_least_once_a_cancellation_aborts_that_checkpoint_and_older_ones_only()
    {
        BarrierAligner aligner = Aligner(2, CheckpointingMode.AtLeastOnce);
        aligner.OnBarrier(0, 1);
        aligner.OnBarrier(0, 2);
        aligner.OnBarrier(0, 3);
        Assert.Equal(
            [new AbortCheckpoint(1, CheckpointDeclineReason.SubsumedByNewerBarrier), new AbortCheckpoint(2, CheckpointDeclineReason.CancelledUpstream)],
            aligner.OnCancellation(2));
        Assert.Equal(3, aligner.CurrentCheckpointId);
        Assert.Empty(aligner.OnBarrier(1, 2));
        Assert.Equal([Snapshot(3, 0)], aligner.OnBarrier(1, 3));
    }
}
