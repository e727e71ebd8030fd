using System;
using System.Collections.Generic;
using System.Linq;
using Weir.Execution;
using Xunit;

namespace Weir.Runtime.Tests;

/// <summary>A keyed stream connected with a broadcast stream, run by the local executor.</summary>
[Collection("static job outputs")]
public sealed class BroadcastConnectTests
{
    private const long Records = 10_000;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Rules_read_first_apply_to_every_keyed_record_on_every_subtask(int parallelism)
    {
        LimitsJob.Alerts.Clear();

        new LocalExecutor().Execute(LimitsJob.CreatePlan(Records), new ExecutionOptions(Parallelism: parallelism));

        AssertExactOutput(parallelism);
    }

    [Fact]
    public void Tiny_gates_on_both_inputs_lose_and_reorder_nothing()
    {
        LimitsJob.Alerts.Clear();

        new LocalExecutor().Execute(LimitsJob.CreatePlan(Records), new ExecutionOptions(Parallelism: 2, GateCapacity: 1, BatchSize: 3));

        AssertExactOutput(2);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Interleaved_inputs_deliver_every_rule_to_every_subtask_in_order(int parallelism)
    {
        InterleavedLimitsJob.Alerts.Clear();

        new LocalExecutor().Execute(InterleavedLimitsJob.CreatePlan(Records), new ExecutionOptions(Parallelism: parallelism, BatchSize: 64));

        // Whatever the interleaving: every subtask applies the rules in their order (one sender keeps
        // its order), and every alert is justified by a limit that existed at some point.
        for (int subtask = 0; subtask < parallelism; subtask++)
        {
            LimitAlert[] acks = InterleavedLimitsJob.Alerts.OfSubtask(subtask).Where(a => a.Sensor == -1).ToArray();
            Assert.Equal(new[] { "high", "gone", "higher", "gone" }, acks.Select(a => a.Rule));
            Assert.Equal(new long[] { 1, 2, 3, 2 }, acks.Select(a => a.Value));
        }

        var limits = new Dictionary<string, long> { ["high"] = 9_000, ["gone"] = 0, ["higher"] = 9_500 };
        foreach (LimitAlert alert in InterleavedLimitsJob.Alerts.ToArray().Where(a => a.Sensor >= 0))
        {
            Assert.True(alert.Value > limits[alert.Rule], alert.ToString());
            Assert.Equal(alert.Value % 100, alert.Sensor);
            Assert.InRange(alert.Seen, 1, Records / 100);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void An_exception_on_the_broadcast_side_fails_the_job_naming_the_operator_and_the_rule(int parallelism)
    {
        var error = Assert.Throws<JobFailedException>(() =>
            new LocalExecutor().Execute(FailingRulesJob.CreatePlan(failOnRule: true), new ExecutionOptions(Parallelism: parallelism)));

        var failure = Assert.IsType<OperatorFailedException>(error.InnerException);
        Assert.Equal("rule-check", failure.Operator.Id);
        Assert.Contains("Process 'rule-check'", error.Message);
        Assert.Contains("rule 'bad' does not parse", error.Message);
        Assert.Contains("LimitRule", failure.Record);
        Assert.Contains("Name = bad", failure.Record);
        Assert.IsType<FormatException>(failure.InnerException);
    }

    [Fact]
    public void An_exception_on_the_keyed_side_fails_the_job_naming_the_operator_and_the_record()
    {
        var error = Assert.Throws<JobFailedException>(() =>
            new LocalExecutor().Execute(FailingRulesJob.CreatePlan(failOnRule: false), new ExecutionOptions(Parallelism: 2)));

        var failure = Assert.IsType<OperatorFailedException>(error.InnerException);
        Assert.Equal("rule-check", failure.Operator.Id);
        Assert.Contains("reading 777 is cursed", error.Message);
        Assert.Contains("Value = 777", failure.Record);
    }

    private static void AssertExactOutput(int parallelism)
    {
        LimitAlert[] all = LimitsJob.Alerts.ToArray();

        // Each subtask acknowledges every rule, in the order the single rule subtask sent them.
        for (int subtask = 0; subtask < parallelism; subtask++)
        {
            LimitAlert[] acks = LimitsJob.Alerts.OfSubtask(subtask).Where(a => a.Sensor == -1).ToArray();
            Assert.Equal(new[] { "high", "gone", "higher", "gone" }, acks.Select(a => a.Rule));
            Assert.Equal(new long[] { 1, 2, 3, 2 }, acks.Select(a => a.Value));

            // Broadcast-first: a subtask's acknowledgements precede all of its alerts.
            LimitAlert[] output = LimitsJob.Alerts.OfSubtask(subtask);
            Assert.All(output.Take(4), a => Assert.Equal(-1, a.Sensor));
        }

        // Every reading is checked against exactly the final limits ("gone" was removed before it).
        var expected = new List<(long Sensor, long Value, string Rule)>();
        for (long i = 0; i < Records; i++)
        {
            if (i > 9_000)
            {
                expected.Add((i % 100, i, "high"));
            }

            if (i > 9_500)
            {
                expected.Add((i % 100, i, "higher"));
            }
        }

        LimitAlert[] alerts = all.Where(a => a.Sensor >= 0).OrderBy(a => a.Value).ThenBy(a => a.Rule, StringComparer.Ordinal).ToArray();
        Assert.Equal(expected.OrderBy(a => a.Value).ThenBy(a => a.Rule, StringComparer.Ordinal), alerts.Select(a => (a.Sensor, a.Value, a.Rule)));

        // Keyed state counts each sensor's readings. With one source subtask reading i is its sensor's
        // (i / 100 + 1)-th; with several, a sensor's readings arrive in an interleaved order, but each
        // count is still given once.
        if (parallelism == 1)
        {
            Assert.All(alerts, a => Assert.Equal((a.Value / 100) + 1, a.Seen));
        }

        foreach (var sensor in alerts.Where(a => a.Rule == "high").GroupBy(a => a.Sensor))
        {
            Assert.Equal(sensor.Count(), sensor.Select(a => a.Seen).Distinct().Count());
            Assert.All(sensor, a => Assert.InRange(a.Seen, 1, Records / 100));
        }
    }
}
