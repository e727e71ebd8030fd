using System;
using System.Globalization;
using MemoryPack;
using Weir;

namespace FraudDetection;

/// <summary>A card transaction: when (Unix milliseconds, UTC), whose account, how much, where.</summary>
/// <remarks>
/// Kept in state (the recent transactions of an account), so version-tolerant: members are identified
/// by their [MemoryPackOrder] and may be added or removed later (docs/state-schema-evolution.md).
/// </remarks>
[MemoryPackable(GenerateType.VersionTolerant)]
public readonly partial record struct Transaction(
    [property: MemoryPackOrder(0)] long Timestamp,
    [property: MemoryPackOrder(1)] string Account,
    [property: MemoryPackOrder(2)] decimal Amount,
    [property: MemoryPackOrder(3)] string Merchant)
{
    /// <summary>
    /// Parses a CSV line <c>timestamp,account,amount,merchant</c> (ISO 8601 time, e.g.
    /// <c>2026-03-01T10:00:00Z</c>; amount with a '.' decimal point). Blank lines, <c>#</c> comments
    /// and the header line are skipped; any other malformed line fails the job, naming it.
    /// </summary>
    public static void Parse(string line, ref Collector<Transaction> output)
    {
        ReadOnlySpan<char> text = line.AsSpan().Trim();
        if (text.IsEmpty || text[0] == '#' || text.StartsWith("timestamp,", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        string[] fields = line.Split(',', StringSplitOptions.TrimEntries);
        if (fields.Length != 4
            || !DateTimeOffset.TryParse(fields[0], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out DateTimeOffset time)
            || fields[1].Length == 0
            || !decimal.TryParse(fields[2], NumberStyles.Number, CultureInfo.InvariantCulture, out decimal amount))
        {
            throw new FormatException($"Not a transaction (timestamp,account,amount,merchant): '{line}'");
        }

        output.Collect(new Transaction(time.ToUnixTimeMilliseconds(), fields[1], amount, fields[3]));
    }
}

/// <summary>What a rule checks.</summary>
public enum RuleKind
{
    /// <summary>The rule is switched off (from its <see cref="Rule.From"/> time).</summary>
    Off,

    /// <summary>A transaction below <see cref="Rule.Small"/> followed, within <see cref="Rule.Within"/>, by one above <see cref="Rule.Large"/> (a card being tested, then used).</summary>
    SmallThenLarge,

    /// <summary>At least <see cref="Rule.Count"/> transactions above <see cref="Rule.Above"/> within <see cref="Rule.Within"/>.</summary>
    Burst,

    /// <summary>A transaction above <see cref="Rule.Above"/> at a merchant the account has not paid before.</summary>
    NewMerchant,
}

/// <summary>
/// One version of a rule: it applies to transactions from <see cref="From"/> (Unix milliseconds; 0:
/// always) until a later version of the same <see cref="Id"/> takes over. Immutable, because every
/// subtask's broadcast state hands the same instance to its readers.
/// </summary>
/// <remarks>Kept in broadcast state, so version-tolerant (see <see cref="Transaction"/>).</remarks>
[MemoryPackable(GenerateType.VersionTolerant)]
public sealed partial record Rule(
    [property: MemoryPackOrder(0)] string Id,
    [property: MemoryPackOrder(1)] RuleKind Kind,
    [property: MemoryPackOrder(2)] long From,
    [property: MemoryPackOrder(3)] decimal Small,
    [property: MemoryPackOrder(4)] decimal Large,
    [property: MemoryPackOrder(5)] int Count,
    [property: MemoryPackOrder(6)] decimal Above,
    [property: MemoryPackOrder(7)] long Within)
{
    /// <summary>
    /// Parses a rule line: space-separated <c>key=value</c> pairs, e.g.
    /// <c>rule=burst kind=burst count=3 above=100 within=10m from=2026-03-01T12:00:00Z</c>. Keys:
    /// <c>rule</c> (the ID), <c>kind</c> (<c>small-then-large</c>, <c>burst</c>, <c>new-merchant</c>,
    /// <c>off</c>), <c>small</c>, <c>large</c>, <c>count</c>, <c>above</c>, <c>within</c> (e.g. 30s,
    /// 1m, 10m, 2h) and <c>from</c> (ISO 8601). Blank lines and <c>#</c> comments are skipped.
    /// </summary>
    public static void Parse(string line, ref Collector<Rule> output)
    {
        string text = line.Trim();
        if (text.Length == 0 || text[0] == '#')
        {
            return;
        }

        string? id = null;
        RuleKind? kind = null;
        long from = 0, within = 0;
        decimal small = 0, large = 0, above = 0;
        int count = 0;
        foreach (string pair in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            int equals = pair.IndexOf('=');
            string key = equals > 0 ? pair[..equals] : throw Bad(line, $"'{pair}' is not key=value");
            string value = pair[(equals + 1)..];
            switch (key)
            {
                case "rule":
                    id = value;
                    break;
                case "kind":
                    kind = value switch
                    {
                        "small-then-large" => RuleKind.SmallThenLarge,
                        "burst" => RuleKind.Burst,
                        "new-merchant" => RuleKind.NewMerchant,
                        "off" => RuleKind.Off,
                        _ => throw Bad(line, $"unknown kind '{value}'"),
                    };
                    break;
                case "small":
                    small = Amount(line, value);
                    break;
                case "large":
                    large = Amount(line, value);
                    break;
                case "above":
                    above = Amount(line, value);
                    break;
                case "count":
                    count = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : throw Bad(line, $"count '{value}' is not a positive integer");
                    break;
                case "within":
                    within = Duration(line, value);
                    break;
                case "from":
                    from = DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out DateTimeOffset time)
                        ? time.ToUnixTimeMilliseconds()
                        : throw Bad(line, $"from '{value}' is not an ISO 8601 time");
                    break;
                default:
                    throw Bad(line, $"unknown key '{key}'");
            }
        }

        if (id is null || kind is null)
        {
            throw Bad(line, "a rule needs rule=ID and kind=KIND");
        }

        if (kind is RuleKind.SmallThenLarge or RuleKind.Burst && within <= 0)
        {
            throw Bad(line, "this kind needs within=DURATION");
        }

        if (kind == RuleKind.Burst && count == 0)
        {
            throw Bad(line, "a burst rule needs count=N");
        }

        output.Collect(new Rule(id, kind.Value, from, small, large, count, above, within));
    }

    private static decimal Amount(string line, string value)
        => decimal.TryParse(value, NumberStyles.Number, CultureInfo.InvariantCulture, out decimal amount) ? amount : throw Bad(line, $"'{value}' is not an amount");

    private static long Duration(string line, string value)
    {
        int unit = value.Length > 0 && char.IsLetter(value[^1]) ? (value.EndsWith("ms", StringComparison.Ordinal) ? value.Length - 2 : value.Length - 1) : -1;
        long factor = unit < 0 ? 0 : value[unit..] switch { "ms" => 1, "s" => 1000, "m" => 60_000, "h" => 3_600_000, "d" => 86_400_000, _ => 0 };
        return factor > 0 && long.TryParse(value.AsSpan(0, unit), NumberStyles.None, CultureInfo.InvariantCulture, out long amount) && amount > 0
            ? amount * factor
            : throw Bad(line, $"'{value}' is not a duration such as 30s, 1m or 2h");
    }

    private static FormatException Bad(string line, string why) => new($"Not a rule ({why}): '{line}'");
}

/// <summary>
/// An alert: the transaction that triggered it, the rule and a human-readable reason; one line
/// <c>time&lt;TAB&gt;account&lt;TAB&gt;rule&lt;TAB&gt;amount&lt;TAB&gt;merchant&lt;TAB&gt;reason</c>.
/// </summary>
public readonly record struct Alert(long Timestamp, string Account, string Rule, decimal Amount, string Merchant, string Reason) : ISpanFormattable
{
    /// <summary>A Unix-milliseconds time as ISO 8601 UTC with seconds.</summary>
    public static string Time(long timestamp)
        => DateTimeOffset.FromUnixTimeMilliseconds(timestamp).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
        => destination.TryWrite(CultureInfo.InvariantCulture, $"{Time(Timestamp)}\t{Account}\t{Rule}\t{Amount}\t{Merchant}\t{Reason}", out charsWritten);

    public string ToString(string? format, IFormatProvider? formatProvider) => ToString();

    public override string ToString()
        => string.Create(CultureInfo.InvariantCulture, $"{Time(Timestamp)}\t{Account}\t{Rule}\t{Amount}\t{Merchant}\t{Reason}");
}
