using System;
using System.Collections.Generic;
using System.Globalization;
using Weir;

namespace FraudDetection;

/// <summary>
/// Evaluates each transaction against the rules in broadcast state, using the account's recent
/// transactions and known merchants from keyed state. Rule windows are measured with the
/// transactions' own timestamps (so replaying a file gives the same alerts at any speed); state
/// time-to-live is processing time and only bounds how long an idle account's state is kept.
/// </summary>
public struct FraudDetector : IKeyedBroadcastProcessFunction<string, Transaction, Rule, Alert>
{
    /// <summary>Rule ID → its versions, ordered by the time they take effect.</summary>
    [BroadcastState("rules")]
    private ReadOnlyBroadcastState<string, Rule[]> _rules;

    /// <summary>The account's transactions within the longest rule window, oldest first.</summary>
    [State("recent", TimeToLive = "1h")]
    private ListState<Transaction> _recent;

    /// <summary>Merchants the account has paid, with the time of the last payment.</summary>
    [State("merchants", TimeToLive = "30d")]
    private MapState<string, long> _merchants;

    /// <summary>How many alerts the account has raised (numbered in each alert's reason).</summary>
    [State("alerts", TimeToLive = "30d")]
    private ValueState<long> _alerts;

    /// <summary>Reused when old transactions are dropped from <see cref="_recent"/> (not state: scratch space).</summary>
    private Transaction[]? _scratch;

    public void ProcessElement(in Transaction transaction, ProcessContext<string> context, ref Collector<Alert> output)
    {
        ReadOnlySpan<Transaction> recent = _recent.Get();
        bool knownMerchant = _merchants.ContainsKey(transaction.Merchant);
        long horizon = 0;
        foreach (KeyValuePair<string, Rule[]> entry in _rules)
        {
            // Keep what the longest window of any version needs, including versions not yet in force.
            foreach (Rule version in entry.Value)
            {
                horizon = Math.Max(horizon, version.Within);
            }

            Rule? rule = InForce(entry.Value, transaction.Timestamp);
            string? reason = rule is null ? null : Check(rule, transaction, recent, knownMerchant);
            if (reason is not null)
            {
                long number = _alerts.Value + 1;
                _alerts.Value = number;
                output.Collect(new Alert(transaction.Timestamp, transaction.Account, rule!.Id, transaction.Amount, transaction.Merchant, $"{reason} (alert {number} of the account)"));
            }
        }

        _merchants.Put(transaction.Merchant, transaction.Timestamp);
        Remember(transaction, recent, horizon);
    }

    public void ProcessBroadcastElement(in Rule rule, BroadcastContext context, ref Collector<Alert> output)
    {
        // A new version replaces one with the same start time, else joins the list in time order.
        // The list is copied, not changed in place: readers may hold the stored array.
        BroadcastState<string, Rule[]> rules = context.GetBroadcastState(_rules);
        Rule[] versions = rules.TryGetValue(rule.Id, out Rule[]? existing) ? existing : Array.Empty<Rule>();
        var updated = new List<Rule>(versions.Length + 1);
        foreach (Rule version in versions)
        {
            if (version.From != rule.From)
            {
                updated.Add(version);
            }
        }

        updated.Add(rule);
        updated.Sort(static (a, b) => a.From.CompareTo(b.From));
        rules.Put(rule.Id, updated.ToArray());
    }

    /// <summary>The version in force at <paramref name="timestamp"/>, or null when none is (or it is off).</summary>
    internal static Rule? InForce(Rule[] versions, long timestamp)
    {
        for (int i = versions.Length - 1; i >= 0; i--)
        {
            if (versions[i].From <= timestamp)
            {
                return versions[i].Kind == RuleKind.Off ? null : versions[i];
            }
        }

        return null;
    }

    /// <summary>Why <paramref name="transaction"/> breaks <paramref name="rule"/>, or null when it does not.</summary>
    private static string? Check(Rule rule, in Transaction transaction, ReadOnlySpan<Transaction> recent, bool knownMerchant)
    {
        switch (rule.Kind)
        {
            case RuleKind.SmallThenLarge when transaction.Amount > rule.Large:
                for (int i = recent.Length - 1; i >= 0; i--)
                {
                    ref readonly Transaction earlier = ref recent[i];
                    if (earlier.Amount < rule.Small && InWindow(earlier, transaction, rule.Within))
                    {
                        long seconds = (transaction.Timestamp - earlier.Timestamp) / 1000;
                        return string.Create(CultureInfo.InvariantCulture, $"{earlier.Amount} at {earlier.Merchant}, then {transaction.Amount} {seconds}s later");
                    }
                }

                return null;
            case RuleKind.Burst when transaction.Amount > rule.Above:
                int count = 1;
                foreach (Transaction earlier in recent)
                {
                    if (earlier.Amount > rule.Above && InWindow(earlier, transaction, rule.Within))
                    {
                        count++;
                    }
                }

                return count >= rule.Count
                    ? string.Create(CultureInfo.InvariantCulture, $"{count} transactions above {rule.Above} within {rule.Within / 1000}s")
                    : null;
            case RuleKind.NewMerchant when transaction.Amount > rule.Above && !knownMerchant:
                return string.Create(CultureInfo.InvariantCulture, $"first payment at {transaction.Merchant} is above {rule.Above}");
            default:
                return null;
        }
    }

    /// <summary>Whether <paramref name="earlier"/> is at most <paramref name="window"/> before <paramref name="transaction"/>.</summary>
    internal static bool InWindow(in Transaction earlier, in Transaction transaction, long window)
        => earlier.Timestamp <= transaction.Timestamp && transaction.Timestamp - earlier.Timestamp <= window;

    /// <summary>Appends the transaction to the recent list, first dropping those older than every rule window.</summary>
    private void Remember(in Transaction transaction, ReadOnlySpan<Transaction> recent, long horizon)
    {
        int keep = 0;
        while (keep < recent.Length && transaction.Timestamp - recent[keep].Timestamp > horizon)
        {
            keep++;
        }

        if (keep > 0)
        {
            // The span views the stored list, which Update clears first: copy the survivors out.
            int survivors = recent.Length - keep;
            if (_scratch is null || _scratch.Length < survivors)
            {
                _scratch = new Transaction[Math.Max(survivors, 16)];
            }

            recent[keep..].CopyTo(_scratch);
            _recent.Update(_scratch.AsSpan(0, survivors));
            Array.Clear(_scratch, 0, survivors);
        }

        _recent.Add(transaction);
    }
}
