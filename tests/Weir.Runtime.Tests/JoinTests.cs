using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using ClickLocations;
using Weir.Connectors;
using Weir.Execution;
using Xunit;

namespace Weir.Runtime.Tests;

/// <summary>
/// Joins of two keyed streams: the ClickLocations sample (a window join) against a join computed in
/// the test, and an interval join and a keyed co-process function with shared state and timers.
/// </summary>
public sealed class JoinTests : IDisposable
{
    private const long Epoch = 1_700_000_000_000;
    private readonly string _root = Path.Combine(Path.GetTempPath(), "weir-joins-" + Guid.NewGuid().ToString("N"));

    public JoinTests() => Directory.CreateDirectory(_root);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Window_join_pairs_every_click_with_every_location_of_its_user_and_minute(int parallelism)
    {
        var random = new Random(42 + parallelism);
        var clicks = new List<(string User, string Url, long Ts)>();
        var locations = new List<(string User, string City, long Ts)>();
        for (int i = 0; i < 4000; i++)
        {
            clicks.Add(($"u{random.Next(12)}", $"/p{random.Next(6)}", Epoch + (i * 150L) - random.Next(4000)));
        }

        for (int i = 0; i < 400; i++)
        {
            locations.Add(($"u{random.Next(12)}", new[] { "Oslo", "Lima", "Pune", "Kyiv" }[random.Next(4)], Epoch + (i * 1500L) - random.Next(4000)));
        }

        string clicksFile = Path.Combine(_root, "clicks.jsonl");
        string locationsFile = Path.Combine(_root, "locations.jsonl");
        File.WriteAllLines(clicksFile, clicks.Select(c => JsonSerializer.Serialize(new Dictionary<string, object> { ["user"] = c.User, ["url"] = c.Url, ["ts"] = c.Ts })));
        File.WriteAllLines(locationsFile, locations.Select(l => JsonSerializer.Serialize(new Dictionary<string, object> { ["user"] = l.User, ["city"] = l.City, ["ts"] = l.Ts })));
        string output = Path.Combine(_root, "out");

        JobResult result = new LocalExecutor().Execute(ClickLocationsJob.CreatePlan(clicksFile, locationsFile, output), new ExecutionOptions(Parallelism: parallelism));

        Assert.True(result.Completed);
        static long Minute(long ts) => ts - (((ts % 60_000) + 60_000) % 60_000);
        var expected = (from c in clicks
                        join l in locations on (c.User, Minute(c.Ts)) equals (l.User, Minute(l.Ts))
                        select $"{c.User}\t{Minute(c.Ts)}\t{c.Url}\t{l.City}").OrderBy(x => x, StringComparer.Ordinal).ToList();
        Assert.True(expected.Count > 1000, $"the input should pair often, {expected.Count} pairs");
        List<string> actual = WordCountContractTests.OutputLines(output).OrderBy(x => x, StringComparer.Ordinal).ToList();
        Assert.Equal(expected, actual);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Interval_join_pairs_records_within_the_bounds_once(int parallelism)
    {
        string output = Path.Combine(_root, "interval");
        JobResult result = new LocalExecutor().Execute(IntervalJoinJob.CreatePlan(output), new ExecutionOptions(Parallelism: parallelism));

        Assert.True(result.Completed);
        var expected = new List<string>();
        foreach (Order order in IntervalJoinJob.Orders)
        {
            foreach (Payment payment in IntervalJoinJob.Payments)
            {
                // A payment pairs with an order of its account made at most 2 s before and 1 s after it.
                if (payment.Account == order.Account && payment.Ts >= order.Ts - 1000 && payment.Ts <= order.Ts + 2000)
                {
                    expected.Add($"{order.Id}->{payment.Id}");
                }
            }
        }

        Assert.NotEmpty(expected);
        Assert.Equal(expected.OrderBy(x => x, StringComparer.Ordinal), WordCountContractTests.OutputLines(output).OrderBy(x => x, StringComparer.Ordinal));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Connected_keyed_streams_share_state_and_timers_per_key(int parallelism)
    {
        string output = Path.Combine(_root, "coprocess");
        JobResult result = new LocalExecutor().Execute(IntervalJoinJob.CreateCoProcessPlan(output), new ExecutionOptions(Parallelism: parallelism));

        Assert.True(result.Completed);

        // Per account: its last order's ID (state written by input 1) seen by each payment (input 2)
        // arriving after it, and one timer line per order, 5 s after it, naming the payments counted.
        List<string> lines = WordCountContractTests.OutputLines(output).ToList();
        foreach (Order order in IntervalJoinJob.Orders)
        {
            Assert.Single(lines, l => l.StartsWith($"timer {order.Account} {order.Ts + 5000} ", StringComparison.Ordinal));
        }

        Assert.Equal(IntervalJoinJob.Orders.Length, lines.Count(l => l.StartsWith("timer ", StringComparison.Ordinal)));
        Assert.Equal(IntervalJoinJob.Payments.Length, lines.Count(l => l.StartsWith("payment ", StringComparison.Ordinal)));
        int total = lines.Where(l => l.StartsWith("timer ", StringComparison.Ordinal)).Sum(l => int.Parse(l.Split(' ')[3], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(IntervalJoinJob.Payments.Length, total);
    }
}

public readonly record struct Order(int Id, int Account, long Ts);

/// <summary>A line of text for the text file sink.</summary>
public readonly record struct TextLine(string Text) : ISpanFormattable
{
    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
    {
        charsWritten = 0;
        if (Text.Length > destination.Length)
        {
            return false;
        }

        Text.AsSpan().CopyTo(destination);
        charsWritten = Text.Length;
        return true;
    }

    public string ToString(string? format, IFormatProvider? formatProvider) => Text;

    public override string ToString() => Text;
}

public readonly record struct Payment(int Id, int Account, long Ts);

public struct OrderPayment : IProcessJoinFunction<Order, Payment, TextLine>
{
    public readonly void Process(in Order left, in Payment right, ref Collector<TextLine> output) => output.Collect(new TextLine($"{left.Id}->{right.Id}"));
}

/// <summary>Counts each account's payments between orders; a timer 5 s after an order reports the count so far.</summary>
public struct PaymentsSinceOrder : IKeyedCoProcessFunction<int, Order, Payment, TextLine>, IKeyedTimerFunction<int, TextLine>
{
    [State("payments")] private ValueState<int> _payments = default!;

    public PaymentsSinceOrder()
    {
    }

    public void ProcessElement1(in Order value, ProcessContext<int> context, ref Collector<TextLine> output)
        => context.RegisterEventTimeTimer(value.Ts + 5000);

    public void ProcessElement2(in Payment value, ProcessContext<int> context, ref Collector<TextLine> output)
    {
        _payments.Value += 1;
        output.Collect(new TextLine($"payment {value.Id} {context.Key}"));
    }

    public void OnTimer(long timestamp, ProcessContext<int> context, ref Collector<TextLine> output)
    {
        output.Collect(new TextLine($"timer {context.Key} {timestamp} {_payments.Value}"));
        _payments.Value = 0;
    }
}

[Job("interval-join")]
public static partial class IntervalJoinJob
{
    // Orders every 700 ms over 6 accounts, payments every 300 ms over the same accounts; timestamps in order.
    internal static readonly Order[] Orders = Enumerable.Range(0, 300).Select(i => new Order(i, i % 6, 1_700_000_000_000 + (i * 700L))).ToArray();

    internal static readonly Payment[] Payments = Enumerable.Range(0, 700).Select(i => new Payment(i, (i * 7) % 6, 1_700_000_000_000 + (i * 300L))).ToArray();

    [Pipeline]
    private static void Define(PipelineBuilder p, string output)
    {
        var payments = p.Source("payments", Sources.FromArray(Payments))
            .AssignTimestampsAndWatermarks(x => x.Ts, WatermarkStrategy.ForMonotonousTimestamps<Payment>())
            .KeyBy(x => x.Account);
        p.Source("orders", Sources.FromArray(Orders))
            .AssignTimestampsAndWatermarks(x => x.Ts, WatermarkStrategy.ForMonotonousTimestamps<Order>())
            .KeyBy(x => x.Account)
            .IntervalJoin(payments)
            .Between(TimeSpan.FromSeconds(-1), TimeSpan.FromSeconds(2))
            .Process("order-payments", new OrderPayment())
            .Sink("out", Sinks.TextFiles<TextLine>(output));
    }

    internal static JobPlan CreateCoProcessPlan(string output) => CoProcessJob.CreatePlan(output);
}

[Job("co-process")]
public static partial class CoProcessJob
{
    [Pipeline]
    private static void Define(PipelineBuilder p, string output)
    {
        var payments = p.Source("payments", Sources.FromArray(IntervalJoinJob.Payments))
            .AssignTimestampsAndWatermarks(x => x.Ts, WatermarkStrategy.ForMonotonousTimestamps<Payment>())
            .KeyBy(x => x.Account);
        p.Source("orders", Sources.FromArray(IntervalJoinJob.Orders))
            .AssignTimestampsAndWatermarks(x => x.Ts, WatermarkStrategy.ForMonotonousTimestamps<Order>())
            .KeyBy(x => x.Account)
            .Connect(payments)
            .Process("payments-since-order", new PaymentsSinceOrder())
            .Sink("out", Sinks.TextFiles<TextLine>(output));
    }
}
