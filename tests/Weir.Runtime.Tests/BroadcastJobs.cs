using System;
using Weir;
using Weir.Connectors;

namespace Weir.Runtime.Tests;

/// <summary>A limit rule on the broadcast side: sets a named limit, or removes it when <see cref="Limit"/> is negative.</summary>
public readonly record struct LimitRule(string Name, long Limit);

/// <summary>
/// A reading above a limit (<see cref="Sensor"/> &gt;= 0), or, with <see cref="Sensor"/> = -1, one
/// subtask's acknowledgement of a rule: <see cref="Value"/> is the number of limits it then holds.
/// </summary>
public readonly record struct LimitAlert(long Sensor, long Value, string Rule, long Seen);

/// <summary>Readings checked against limits that arrive on a broadcast stream and are all applied before the first reading.</summary>
[Job("limits")]
public static partial class LimitsJob
{
    public static readonly CollectedOutput<LimitAlert> Alerts = new();

    /// <summary>"gone" is set to 0 (every reading would exceed it) and then removed.</summary>
    public static readonly LimitRule[] Rules = { new("high", 9_000), new("gone", 0), new("higher", 9_500), new("gone", -1) };

    [Pipeline]
    private static void Define(PipelineBuilder p, long records)
    {
        var rules = p.Source("rules", Sources.FromArray(Rules)).Parallelism(1);
        p.Source("readings", Sources.Generate<Reading, ReadingGenerator>(records))
            .KeyBy(r => r.Sensor)
            .Connect(rules.Broadcast())
            .BroadcastFirst()
            .Process("limits", new LimitCheck())
            .Sink("alerts", Sinks.Collect(Alerts));
    }
}

/// <summary>The same job without <c>BroadcastFirst()</c>: rules and readings interleave in no fixed order.</summary>
[Job("limits-interleaved")]
public static partial class InterleavedLimitsJob
{
    public static readonly CollectedOutput<LimitAlert> Alerts = new();

    [Pipeline]
    private static void Define(PipelineBuilder p, long records)
    {
        var readings = p.Source("readings", Sources.Generate<Reading, ReadingGenerator>(records));
        var rules = p.Source("rules", Sources.FromArray(LimitsJob.Rules)).Parallelism(1);
        readings
            .KeyBy(r => r.Sensor)
            .Connect(rules.Broadcast())
            .Process("limits", new LimitCheck())
            .Filter(alert => alert.Rule.Length > 0)
            .Sink("alerts", Sinks.Collect(Alerts));
    }
}

/// <summary>Counts each sensor's readings in keyed state and emits one alert per limit a reading exceeds.</summary>
public struct LimitCheck : IKeyedBroadcastProcessFunction<long, Reading, LimitRule, LimitAlert>
{
    [BroadcastState("limits")]
    private ReadOnlyBroadcastState<string, long> _limits;

    [State]
    private ValueState<long> _seen;

    public void ProcessElement(in Reading value, ProcessContext<long> context, ref Collector<LimitAlert> output)
    {
        long seen = _seen.Value + 1;
        _seen.Value = seen;
        foreach (var limit in _limits)
        {
            if (value.Value > limit.Value)
            {
                output.Collect(new LimitAlert(context.Key, value.Value, limit.Key, seen));
            }
        }
    }

    public void ProcessBroadcastElement(in LimitRule rule, BroadcastContext context, ref Collector<LimitAlert> output)
    {
        BroadcastState<string, long> limits = context.GetBroadcastState(_limits);
        if (rule.Limit < 0)
        {
            limits.Remove(rule.Name);
        }
        else
        {
            limits.Put(rule.Name, rule.Limit);
        }

        output.Collect(new LimitAlert(-1, limits.Count, rule.Name, 0));
    }
}

/// <summary>A broadcast-connected operator whose user code throws on either side, to check failure reports.</summary>
[Job("failing-rules")]
public static partial class FailingRulesJob
{
    [Pipeline]
    private static void Define(PipelineBuilder p, bool failOnRule)
    {
        var rules = p.Source("rules", Sources.FromArray(new[] { new LimitRule("ok", 1), new LimitRule("bad", 2) })).Parallelism(1);
        p.Source("readings", Sources.Generate<Reading, ReadingGenerator>(1000))
            .KeyBy(r => r.Sensor)
            .Connect(rules.Broadcast())
            .BroadcastFirst()
            .Process("rule-check", new Exploding(failOnRule))
            .Sink("discard", Sinks.Discard<long>());
    }
}

public struct Exploding : IKeyedBroadcastProcessFunction<long, Reading, LimitRule, long>
{
    private readonly bool _failOnRule;

    public Exploding(bool failOnRule) => _failOnRule = failOnRule;

    public void ProcessElement(in Reading value, ProcessContext<long> context, ref Collector<long> output)
    {
        if (!_failOnRule && value.Value == 777)
        {
            throw new InvalidOperationException("reading 777 is cursed");
        }

        output.Collect(value.Value);
    }

    public void ProcessBroadcastElement(in LimitRule rule, BroadcastContext context, ref Collector<long> output)
    {
        if (_failOnRule && rule.Name == "bad")
        {
            throw new FormatException("rule 'bad' does not parse");
        }
    }
}
