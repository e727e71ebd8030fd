using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using FraudDetection;
using Weir.Execution;
using Weir.State;
using Xunit;

namespace Weir.Runtime.Tests;

/// <summary>
/// The FraudDetection sample on generated data: its alerts must equal those computed here by a
/// direct, stateless reading of the rules over each account's whole history.
/// </summary>
public sealed class FraudDetectionSampleTests : IDisposable
{
    private static readonly DateTimeOffset s_start = new(2026, 3, 1, 8, 0, 0, TimeSpan.Zero);

    private readonly string _root = Path.Combine(Path.GetTempPath(), "weir-fraud-" + Guid.NewGuid().ToString("N"));

    public FraudDetectionSampleTests() => Directory.CreateDirectory(_root);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData(1, StateBackendKind.Heap)]
    [InlineData(2, StateBackendKind.Heap)]
    [InlineData(2, StateBackendKind.Faster)]
    public void Alerts_match_an_independent_evaluation_of_the_rules(int parallelism, StateBackendKind backend)
    {
        string transactions = Path.Combine(_root, "transactions");
        List<(long Time, string Account, decimal Amount, string Merchant)> generated = WriteTransactions(transactions, files: 3, accounts: 40, perAccount: 120, seed: 11);
        string rules = Path.Combine(_root, "rules.txt");
        File.WriteAllText(rules, """
            # generated for the test
            rule=tested kind=small-then-large small=1 large=500 within=1m
            rule=burst kind=burst count=3 above=200 within=10m
            rule=burst kind=burst count=2 above=300 within=20m from=2026-03-01T10:00:00Z
            rule=fresh kind=new-merchant above=800
            rule=fresh kind=off from=2026-03-01T11:00:00Z
            rule=fresh kind=new-merchant above=900 from=2026-03-01T12:00:00Z
            """);
        string output = Path.Combine(_root, $"alerts-{parallelism}");

        JobResult result = new LocalExecutor().Execute(FraudDetectionJob.CreatePlan(transactions, rules, output), new ExecutionOptions(
            Parallelism: parallelism,
            StateBackend: backend == StateBackendKind.Heap
                ? StateBackendOptions.Heap
                : StateBackendOptions.Faster(Path.Combine(_root, "state"), Weir.State.Faster.FasterBytesStore.MinimumMemoryBudgetBytes, cachedKeys: 4)));

        Assert.True(result.Completed);
        string[] actual = Directory.GetFiles(output, "part-*.txt").SelectMany(File.ReadAllLines).Select(WithoutReason).Order(StringComparer.Ordinal).ToArray();
        string[] expected = Expected(generated).Order(StringComparer.Ordinal).ToArray();
        Assert.True(expected.Length > 50, $"the generated data should trigger many alerts, got {expected.Length}");
        Assert.Contains(expected, line => line.Contains("\ttested\t", StringComparison.Ordinal));
        Assert.Contains(expected, line => line.Contains("\tburst\t", StringComparison.Ordinal));
        Assert.Contains(expected, line => line.Contains("\tfresh\t", StringComparison.Ordinal));
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void A_malformed_rule_fails_the_job_naming_the_parser_and_the_line()
    {
        string transactions = Path.Combine(_root, "t.csv");
        File.WriteAllText(transactions, "2026-03-01T09:00:00Z,a,1.00,m\n");
        string rules = Path.Combine(_root, "rules.txt");
        File.WriteAllText(rules, "rule=x kind=burst above=5 within=1m\n");

        var error = Assert.Throws<JobFailedException>(() =>
            new LocalExecutor().Execute(FraudDetectionJob.CreatePlan(transactions, rules, Path.Combine(_root, "out"))));

        Assert.Contains("FlatMap", error.Message, StringComparison.Ordinal);
        Assert.Contains("a burst rule needs count=N", error.Message, StringComparison.Ordinal);
    }

    /// <summary>An alert line without its reason (which carries the account's running alert number).</summary>
    private static string WithoutReason(string line) => string.Join('\t', line.Split('\t').Take(5));

    /// <summary>
    /// The alerts the rules above give, computed from the whole history of each account (no state,
    /// no pruning): for each transaction in file order, the rule versions in force at its time.
    /// </summary>
    private static IEnumerable<string> Expected(List<(long Time, string Account, decimal Amount, string Merchant)> all)
    {
        long At(int hour) => new DateTimeOffset(2026, 3, 1, hour, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        foreach (var account in all.GroupBy(t => t.Account))
        {
            var history = account.ToList();
            for (int i = 0; i < history.Count; i++)
            {
                var t = history[i];
                var before = history.Take(i).ToList();
                bool Within(long time, long window) => time <= t.Time && t.Time - time <= window;

                if (t.Amount > 500 && before.Any(e => e.Amount < 1 && Within(e.Time, 60_000)))
                {
                    yield return Line(t, "tested");
                }

                (int count, decimal above, long window) = t.Time >= At(10) ? (2, 300m, 1_200_000L) : (3, 200m, 600_000L);
                if (t.Amount > above && 1 + before.Count(e => e.Amount > above && Within(e.Time, window)) >= count)
                {
                    yield return Line(t, "burst");
                }

                decimal? fresh = t.Time >= At(12) ? 900m : t.Time >= At(11) ? null : 800m;
                if (fresh is decimal limit && t.Amount > limit && before.All(e => e.Merchant != t.Merchant))
                {
                    yield return Line(t, "fresh");
                }
            }
        }
    }

    private static string Line((long Time, string Account, decimal Amount, string Merchant) t, string rule)
        => string.Join('\t', Alert.Time(t.Time), t.Account, rule, t.Amount.ToString(CultureInfo.InvariantCulture), t.Merchant);

    /// <summary>
    /// Writes each account's transactions, in time order, to one of <paramref name="files"/> CSV
    /// files: amounts mix tiny card tests, everyday payments and large ones, seconds to minutes apart.
    /// </summary>
    private static List<(long Time, string Account, decimal Amount, string Merchant)> WriteTransactions(string directory, int files, int accounts, int perAccount, int seed)
    {
        Directory.CreateDirectory(directory);
        var random = new Random(seed);
        var all = new List<(long, string, decimal, string)>();
        var writers = Enumerable.Range(0, files).Select(f => new StringBuilder("timestamp,account,amount,merchant\n")).ToArray();
        for (int a = 0; a < accounts; a++)
        {
            string account = $"acct-{a:D3}";
            DateTimeOffset time = s_start.AddSeconds(random.Next(0, 600));
            for (int n = 0; n < perAccount; n++)
            {
                time = time.AddSeconds(random.Next(5, 240));
                int roll = random.Next(100);
                decimal amount = roll switch
                {
                    < 8 => random.Next(1, 100) / 100m,
                    < 70 => random.Next(500, 20_000) / 100m,
                    < 90 => random.Next(20_000, 60_000) / 100m,
                    _ => random.Next(60_000, 150_000) / 100m,
                };
                string merchant = $"merchant-{random.Next(0, 25):D2}";
                all.Add((time.ToUnixTimeMilliseconds(), account, amount, merchant));
                writers[a % files].Append(CultureInfo.InvariantCulture, $"{time:yyyy-MM-dd'T'HH:mm:ss'Z'},{account},{amount},{merchant}\n");
            }
        }

        for (int f = 0; f < files; f++)
        {
            File.WriteAllText(Path.Combine(directory, $"transactions-{f}.csv"), writers[f].ToString());
        }

        return all;
    }
}
