using System;
using System.Buffers;
using System.Collections.Generic;
using System.Text;
using System.Text.Json;
using Weir;

namespace ClickCounts;

/// <summary>
/// Counts clicks per URL per one-minute event-time window (the seeds' clickstream job). Records carry
/// their own time; they may arrive up to five seconds out of order, so the watermark trails the
/// largest timestamp seen by five seconds, and a window [start, start + 1 min) is counted once the
/// watermark passes its end. A click later than that for its window goes to the late output
/// (<c>DIR/_late/</c>) instead of being lost or counted in a window that was already emitted.
/// </summary>
[Job("click-counts")]
public static partial class ClickCountsJob
{
    [Pipeline]
    private static void Define(
        PipelineBuilder p,
        [Option("A file of JSON lines {\"url\": \"...\", \"ts\": <epoch milliseconds>}, or a directory of them.")] string input,
        [Option("Directory for the counts (part-*.txt, lines url<TAB>window_start_ms<TAB>window_end_ms<TAB>count); late clicks go to DIR/_late/.")] string output,
        [Option("Read at most this many lines per second over all subtasks (0: as fast as possible); for demos and crash tests.")] double rate = 0)
    {
        var clicks = p
            .Source("clicks", Sources.TextLines(input, rate))
            .FlatMap<Click>(Click.ParseLine)
            // Watermarks also advance with the data (every second of event time), so which clicks are
            // late depends on the file's order, not on how fast it is read.
            .AssignTimestampsAndWatermarks(click => click.Timestamp, WatermarkStrategy.ForBoundedOutOfOrderness<Click>(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1)))
            .KeyBy(click => click.Url)
            .Window(Windows.Tumbling(TimeSpan.FromMinutes(1)))
            .SideOutputLateData(out var late)
            .Aggregate("clicks-per-url", new CountClicks(), new UrlWindowCount());

        clicks.Sink("counts", Sinks.TextFiles<UrlWindowCount.Line>(output));
        late.Sink("late-clicks", Sinks.TextFiles<Click>(System.IO.Path.Combine(output, "_late")));
    }
}

/// <summary>One click: the URL and its event time (Unix milliseconds).</summary>
public readonly record struct Click(string Url, long Timestamp) : ISpanFormattable
{
    /// <summary>Parses one input line; blank lines carry no click.</summary>
    public static void ParseLine(string line, ref Collector<Click> clicks)
    {
        if (!string.IsNullOrWhiteSpace(line))
        {
            clicks.Collect(Parse(line));
        }
    }

    /// <summary>
    /// Parses <c>{"url": "...", "ts": 1700000000000}</c> (fields in any order, other fields ignored).
    /// A line that is not such an object fails the job naming the line: a malformed input is not
    /// silently dropped from the counts.
    /// </summary>
    public static Click Parse(string line)
    {
        int max = Encoding.UTF8.GetMaxByteCount(line.Length);
        byte[]? rented = max > 512 ? ArrayPool<byte>.Shared.Rent(max) : null;
        Span<byte> utf8 = rented ?? stackalloc byte[512];
        try
        {
            int length = Encoding.UTF8.GetBytes(line, utf8);
            var reader = new Utf8JsonReader(utf8[..length]);
            string? url = null;
            long? timestamp = null;
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new FormatException($"Not a JSON object: {line}");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("url"u8))
                {
                    reader.Read();
                    url = reader.TokenType == JsonTokenType.String ? reader.GetString() : throw new FormatException($"\"url\" is not a string: {line}");
                }
                else if (reader.ValueTextEquals("ts"u8))
                {
                    reader.Read();
                    timestamp = reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out long ts) ? ts : throw new FormatException($"\"ts\" is not an integer: {line}");
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            return url is not null && timestamp is long value
                ? new Click(url, value)
                : throw new FormatException($"A click needs \"url\" and \"ts\": {line}");
        }
        catch (JsonException ex)
        {
            throw new FormatException($"Malformed JSON ({ex.Message}): {line}", ex);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Writes the click back as a JSON line (the late output).</summary>
    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
    {
        string text = ToString();
        charsWritten = 0;
        if (text.Length > destination.Length)
        {
            return false;
        }

        text.AsSpan().CopyTo(destination);
        charsWritten = text.Length;
        return true;
    }

    public string ToString(string? format, IFormatProvider? formatProvider) => ToString();

    public override string ToString()
        => $"{{\"url\": \"{JsonEncodedText.Encode(Url, System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping).Value}\", \"ts\": {Timestamp}}}";
}

/// <summary>Counts a window's clicks.</summary>
public struct CountClicks : IAggregateFunction<Click, long, long>
{
    public readonly long CreateAccumulator() => 0;

    public readonly void Add(in Click value, ref long accumulator) => accumulator++;

    public readonly long GetResult(in long accumulator) => accumulator;
}

/// <summary>Names a window's count with its URL and window bounds.</summary>
public struct UrlWindowCount : IProcessWindowFunction<string, long, UrlWindowCount.Line>
{
    public readonly void Process(string key, TimeWindow window, IReadOnlyList<long> elements, ref Collector<Line> output)
        => output.Collect(new Line(key, window.Start, window.End, elements[0]));

    /// <summary>One output line: <c>url&lt;TAB&gt;window_start_ms&lt;TAB&gt;window_end_ms&lt;TAB&gt;count</c>.</summary>
    public readonly record struct Line(string Url, long WindowStart, long WindowEnd, long Count) : ISpanFormattable
    {
        public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
            => destination.TryWrite(System.Globalization.CultureInfo.InvariantCulture, $"{Url}\t{WindowStart}\t{WindowEnd}\t{Count}", out charsWritten);

        public string ToString(string? format, IFormatProvider? formatProvider) => ToString();

        public override string ToString() => $"{Url}\t{WindowStart}\t{WindowEnd}\t{Count}";
    }
}
