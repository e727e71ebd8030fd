using Weir;

namespace FraudDetection;

/// <summary>
/// Flags suspicious card transactions (the classic Flink fraud-detection demo, with its rules
/// delivered as a broadcast stream). Transactions are keyed by account; every subtask receives every
/// rule and keeps them in broadcast state; each account's recent transactions and known merchants
/// live in keyed state with a time-to-live. Rules are read to their end before the first transaction
/// (<c>BroadcastFirst</c>), and a rule line may take effect from a given time, so a run over files is
/// reproducible while rules still change in the middle of the data.
/// </summary>
[Job("fraud-detection")]
public static partial class FraudDetectionJob
{
    [Pipeline]
    private static void Define(
        PipelineBuilder p,
        [Option("A CSV file of transactions (timestamp,account,amount,merchant), or a directory of them. One account's transactions in time order, in one file.")] string transactions,
        [Option("A file of rules, one per line (see samples/FraudDetection/data/rules.txt).")] string rules,
        [Option("Directory for the alert files (part-NNNN.txt).")] string output)
    {
        // One rule reader and parser: every subtask of the detector must apply rule updates in the
        // same order, which a single sender guarantees.
        var ruleUpdates = p.Source("rules", Sources.TextLines(rules)).Parallelism(1)
            .FlatMap<Rule>(Rule.Parse).Parallelism(1);

        p.Source("transactions", Sources.TextLines(transactions))
            .FlatMap<Transaction>(Transaction.Parse)
            .KeyBy(transaction => transaction.Account)
            .Connect(ruleUpdates.Broadcast())
            .BroadcastFirst()
            .Process("fraud-detector", new FraudDetector())
            .Sink("alerts", Sinks.TextFiles<Alert>(output));
    }
}
