using System;
using Weir.Connectors;
using Weir.Time;
using Xunit;

namespace Weir.Runtime.Tests;

/// <summary>
/// Watermarks per source split (<see cref="WatermarkAssigner{T, TGenerator}"/> over <see cref="SourceSplits"/>):
/// the minimum over the splits that are neither finished nor idle, finished splits released only
/// after their last batch, and splits waiting for their turn never idle.
/// </summary>
public sealed class SplitWatermarkTests
{
    // Watermark = largest timestamp - 10 - 1, emitted on every record that advances it (step 1).
    private static WatermarkAssigner<long, BoundedOutOfOrdernessWatermarks<long>> Assigner(SourceSplits splits, TimeSpan? idleness = null)
    {
        var strategy = WatermarkStrategy.ForBoundedOutOfOrderness<long>(TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(1));
        return (idleness is { } timeout ? strategy.WithIdleness(timeout) : strategy).CreateAssigner(splits);
    }

    private static bool Event(WatermarkAssigner<long, BoundedOutOfOrdernessWatermarks<long>> assigner, SourceSplits splits, int split, long timestamp)
    {
        splits.Enter(split);
        return assigner.OnEvent(timestamp, timestamp);
    }

    [Fact]
    public void The_watermark_is_the_minimum_over_the_splits()
    {
        var splits = new SourceSplits();
        int a = splits.Register("a");
        int b = splits.Register("b");
        var assigner = Assigner(splits);

        Assert.False(Event(assigner, splits, a, 1_000)); // b has no watermark yet: it holds
        Assert.Equal(Watermarks.NoTimestamp, assigner.Current);

        Assert.True(Event(assigner, splits, b, 500));
        Assert.Equal(489, assigner.Current);

        Assert.False(Event(assigner, splits, a, 2_000)); // a moves ahead, b still holds
        Assert.Equal(489, assigner.Current);

        Assert.True(Event(assigner, splits, b, 1_500));
        Assert.Equal(1_489, assigner.Current);

        Assert.False(Event(assigner, splits, b, 100)); // out of order within b: never backwards
        Assert.Equal(1_489, assigner.Current);
    }

    [Fact]
    public void A_finished_split_stops_holding_only_after_its_last_batch()
    {
        var splits = new SourceSplits();
        int a = splits.Register("a");
        int b = splits.Register("b");
        var assigner = Assigner(splits);
        Event(assigner, splits, b, 5_000);
        Event(assigner, splits, a, 1_000);
        Assert.Equal(989, assigner.Current);

        // The reader finishes a while returning a's last batch: its records are still a's.
        splits.Finish(a);
        Assert.True(Event(assigner, splits, a, 1_001));
        Assert.Equal(990, assigner.Current); // not b's 4 989
        Assert.False(splits.IsFinished(a));

        splits.AfterBatch();
        Assert.True(splits.IsFinished(a));
        Assert.True(Event(assigner, splits, b, 5_001));
        Assert.Equal(4_990, assigner.Current);
    }

    [Fact]
    public void A_split_read_later_in_order_holds_the_watermark_and_is_never_idle()
    {
        var splits = new SourceSplits { ReadsInOrder = true };
        int first = splits.Register("first");
        splits.Register("second");
        var assigner = Assigner(splits, idleness: TimeSpan.FromMilliseconds(100));

        Event(assigner, splits, first, 10_000);
        assigner.Poll(now: 0);
        for (long now = 100; now <= 1_000; now += 100)
        {
            Event(assigner, splits, first, 10_000 + now);
            Assert.Equal(0, assigner.Poll(now) & WatermarkAssigner<long, BoundedOutOfOrdernessWatermarks<long>>.Advanced);
        }

        Assert.Equal(Watermarks.NoTimestamp, assigner.Current);
    }

    [Fact]
    public void A_split_without_records_for_the_idleness_timeout_stops_holding()
    {
        var splits = new SourceSplits(); // read concurrently: a split with no data is idle
        int busy = splits.Register("busy");
        int quiet = splits.Register("quiet");
        var assigner = Assigner(splits, idleness: TimeSpan.FromMilliseconds(100));
        Event(assigner, splits, quiet, 50);
        Event(assigner, splits, busy, 1_000);
        assigner.Poll(now: 0);
        Assert.Equal(39, assigner.Current);

        Event(assigner, splits, busy, 2_000);
        assigner.Poll(now: 50);
        Assert.Equal(39, assigner.Current);

        Event(assigner, splits, busy, 3_000);
        int changes = assigner.Poll(now: 150);
        Assert.Equal(WatermarkAssigner<long, BoundedOutOfOrdernessWatermarks<long>>.Advanced, changes); // quiet is idle; the stream is not
        Assert.Equal(2_989, assigner.Current);
        Assert.False(assigner.IsIdle);

        // Back with a record behind the watermark: it holds again from there; the watermark stays.
        Assert.False(Event(assigner, splits, quiet, 60));
        Assert.Equal(2_989, assigner.Current);
        Event(assigner, splits, busy, 4_000);
        Assert.Equal(2_989, assigner.Current);
        Assert.True(Event(assigner, splits, quiet, 3_500));
        Assert.Equal(3_489, assigner.Current);
    }

    [Fact]
    public void A_restored_reader_registers_its_splits_anew()
    {
        var splits = new SourceSplits();
        int old = splits.Register("old");
        var assigner = Assigner(splits);
        Event(assigner, splits, old, 1_000);
        Assert.Equal(989, assigner.Current);

        splits.Reset();
        int a = splits.Register("a");
        int b = splits.Register("b");
        Assert.False(Event(assigner, splits, a, 3_000)); // b holds; the old split is gone
        Assert.True(Event(assigner, splits, b, 2_000));
        Assert.Equal(1_989, assigner.Current);
    }

    [Fact]
    public void Pieces_of_one_file_share_its_timeline()
    {
        var splits = new SourceSplits();
        Assert.Equal(0, splits.Register("/data/clicks.jsonl"));
        Assert.Equal(1, splits.Register("/data/other.jsonl"));
        Assert.Equal(0, splits.Register("/data/clicks.jsonl"));
        Assert.Equal(2, splits.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => splits.Enter(2));
    }
}
