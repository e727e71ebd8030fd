using System.Linq;
using Weir.Execution;
using Xunit;

namespace Weir.Runtime.Tests;

/// <summary>
/// Late records at parallelism 1, with a punctuated watermark (largest timestamp - 1) so that lateness
/// does not depend on the periodic watermark timer.
/// </summary>
[Collection("event time jobs")]
public sealed class EventTimeLateDataTests
{
    [Fact]
    public void A_record_behind_the_watermark_goes_to_the_late_output_and_into_no_window()
    {
        JobResult result = new LocalExecutor().Execute(EventTimeLateDataJob.CreatePlan(), new ExecutionOptions(Parallelism: 1));

        Assert.True(result.Completed);
        Assert.Equal(
            new[] { new WindowSum(1, 0, 1000, 30, 2), new WindowSum(2, 0, 1000, 5, 1), new WindowSum(1, 1000, 2000, 70, 2) },
            EventTimeLateDataJob.Sums.ToArray().OrderBy(w => w.Start).ThenBy(w => w.Key).ToArray());
        Assert.Equal(
            new[] { new TimedEvent(1, 1000, 50), new TimedEvent(2, 7, 999) },
            EventTimeLateDataJob.Late.ToArray());
    }

    [Fact]
    public void A_record_within_the_allowed_lateness_updates_and_refires_its_window()
    {
        JobResult result = new LocalExecutor().Execute(EventTimeAllowedLatenessJob.CreatePlan(), new ExecutionOptions(Parallelism: 1));

        Assert.True(result.Completed);
        Assert.Equal(
            new[]
            {
                new WindowSum(1, 0, 1000, 30, 2),
                new WindowSum(1, 0, 1000, 1030, 3),
                new WindowSum(1, 1000, 2000, 30, 1),
                new WindowSum(1, 1000, 2000, 39, 2),
                new WindowSum(1, 2000, 3000, 5, 1),
            },
            EventTimeAllowedLatenessJob.Sums.ToArray());
        Assert.Equal(new[] { new TimedEvent(1, 7, 60) }, EventTimeAllowedLatenessJob.Late.ToArray());
    }

    [Fact]
    public void Merging_a_session_does_not_cancel_another_sessions_timer_at_the_same_millisecond()
    {
        // Session A's cleanup timer (10299 + 1000) is session B's firing timer (11299). Merging A deletes
        // A's timers; B must still fire.
        JobResult result = new LocalExecutor().Execute(EventTimeSessionLatenessJob.CreatePlan(), new ExecutionOptions(Parallelism: 1));

        Assert.True(result.Completed);
        Assert.Equal(
            new[] { new WindowSum(1, 10_000, 10_550, 5, 2), new WindowSum(1, 11_000, 11_300, 2, 1) },
            EventTimeSessionLatenessJob.Sums.ToArray().OrderBy(w => w.Start).ToArray());
    }
}
