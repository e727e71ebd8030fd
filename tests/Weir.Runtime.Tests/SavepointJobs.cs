using System;
using Weir;
using Weir.Connectors;
using WordCount;

namespace Weir.Runtime.Tests;

/// <summary>
/// Unbounded readings checked against limits from a broadcast stream. The rules the source sends are
/// set per run (<see cref="RulesForNextPlan"/>): a run restored from a savepoint gets none, so its
/// alerts prove the broadcast state came back with the keyed state.
/// </summary>
[Job("savepoint-limits")]
public static partial class SavepointLimitsJob
{
    public static readonly CollectedOutput<LimitAlert> Alerts = new();

    /// <summary>The rules the next <c>CreatePlan</c> sends on the broadcast side.</summary>
    public static LimitRule[] RulesForNextPlan { get; set; } = [];

    [Pipeline]
    private static void Define(PipelineBuilder p)
    {
        var rules = p.Source("rules", Sources.FromArray(RulesForNextPlan)).Parallelism(1);
        p.Source("readings", Sources.GenerateUnbounded<Reading, ReadingGenerator>())
            .KeyBy(r => r.Sensor)
            .Connect(rules.Broadcast())
            .BroadcastFirst()
            .Process("limits", new LimitCheck())
            .Filter(alert => alert.Sensor is >= 0 and < 5)
            .Sink("alerts", Sinks.Collect(Alerts));
    }
}

/// <summary>WordCount whose counting operator got a new ID: a WordCount savepoint's counts are orphaned.</summary>
[Job("word-count-recounted")]
public static partial class RecountedWordCountJob
{
    [Pipeline]
    private static void Define(PipelineBuilder p, string input, string output) => p
        .Source("lines", Sources.TextLines(input))
        .FlatMap<string>(WordCountJob.SplitWords)
        .KeyBy(word => word)
        .Process("running-counts-v2", new RunningCount())
        .Sink("counts", Sinks.TextFiles<WordCountLine>(output));
}
