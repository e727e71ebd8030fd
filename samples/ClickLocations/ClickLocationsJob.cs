using System;
using System.Buffers;
using System.Text;
using System.Text.Json;
using MemoryPack;
using Weir;

namespace ClickLocations;

/// <summary>
/// Joins a click stream with a location stream per user and one-minute event-time window (the seeds'
/// windowed join): for every click and every location report of the same user in the same minute,
/// one line <c>user&lt;TAB&gt;window_start_ms&lt;TAB&gt;url&lt;TAB&gt;city</c>. Both streams may be up
/// to five seconds out of order; a window is joined once both streams' watermarks have passed its end.
/// </summary>
[Job("click-locations")]
public static partial class ClickLocationsJob
{
    [Pipeline]
    private static void Define(
        PipelineBuilder p,
        [Option("JSON lines {\"user\": \"...\", \"url\": \"...\", \"ts\": <epoch ms>}, a file or a directory.")] string clicks,
        [Option("JSON lines {\"user\": \"...\", \"city\": \"...\", \"ts\": <epoch ms>}, a file or a directory.")] string locations,
        [Option("Directory for the joined lines (part-*.txt).")] string output)
    {
        var located = p.Source("locations", Sources.TextLines(locations))
            .FlatMap<Location>(Location.ParseLine)
            .AssignTimestampsAndWatermarks(l => l.Timestamp, WatermarkStrategy.ForBoundedOutOfOrderness<Location>(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1)))
            .KeyBy(l => l.User);

        p.Source("clicks", Sources.TextLines(clicks))
            .FlatMap<UserClick>(UserClick.ParseLine)
            .AssignTimestampsAndWatermarks(c => c.Timestamp, WatermarkStrategy.ForBoundedOutOfOrderness<UserClick>(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1)))
            .KeyBy(c => c.User)
            .Join(located)
            .Window(Windows.Tumbling(TimeSpan.FromMinutes(1)))
            .Apply("clicks-at-locations", new ClickAtLocation())
            .Sink("joined", Sinks.TextFiles<ClickAtLocation.Line>(output));
    }
}

/// <summary>A click of a user (kept in window state until its window is joined).</summary>
[MemoryPackable(GenerateType.VersionTolerant)]
public readonly partial record struct UserClick([property: MemoryPackOrder(0)] string User, [property: MemoryPackOrder(1)] string Url, [property: MemoryPackOrder(2)] long Timestamp)
{
    /// <summary>Parses one JSON line (blank lines carry none; a malformed line fails the job naming it).</summary>
    public static void ParseLine(string line, ref Collector<UserClick> clicks)
    {
        if (!string.IsNullOrWhiteSpace(line))
        {
            (string? user, string? url, long? ts) = JsonLine.Read(line, "url");
            clicks.Collect(new UserClick(user!, url!, ts!.Value));
        }
    }
}

/// <summary>Where a user was (kept in window state until its window is joined).</summary>
[MemoryPackable(GenerateType.VersionTolerant)]
public readonly partial record struct Location([property: MemoryPackOrder(0)] string User, [property: MemoryPackOrder(1)] string City, [property: MemoryPackOrder(2)] long Timestamp)
{
    /// <summary>Parses one JSON line (blank lines carry none; a malformed line fails the job naming it).</summary>
    public static void ParseLine(string line, ref Collector<Location> locations)
    {
        if (!string.IsNullOrWhiteSpace(line))
        {
            (string? user, string? city, long? ts) = JsonLine.Read(line, "city");
            locations.Collect(new Location(user!, city!, ts!.Value));
        }
    }
}

/// <summary>Pairs a click with a location of the same user and minute.</summary>
public struct ClickAtLocation : IJoinFunction<UserClick, Location, ClickAtLocation.Line>
{
    public readonly Line Join(in UserClick first, in Location second)
        => new(first.User, first.Timestamp - (first.Timestamp % 60_000 + 60_000) % 60_000, first.Url, second.City);

    /// <summary>One output line: <c>user&lt;TAB&gt;window_start_ms&lt;TAB&gt;url&lt;TAB&gt;city</c>.</summary>
    public readonly record struct Line(string User, long WindowStart, string Url, string City) : ISpanFormattable
    {
        public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
            => destination.TryWrite(System.Globalization.CultureInfo.InvariantCulture, $"{User}\t{WindowStart}\t{Url}\t{City}", out charsWritten);

        public string ToString(string? format, IFormatProvider? formatProvider) => ToString();

        public override string ToString() => $"{User}\t{WindowStart}\t{Url}\t{City}";
    }
}

/// <summary>Reads <c>{"user": "...", "&lt;field&gt;": "...", "ts": N}</c> objects.</summary>
internal static class JsonLine
{
    public static (string? User, string? Field, long? Timestamp) Read(string line, string field)
    {
        byte[] utf8 = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(line.Length));
        try
        {
            var reader = new Utf8JsonReader(utf8.AsSpan(0, Encoding.UTF8.GetBytes(line, utf8)));
            string? user = null, value = null;
            long? ts = null;
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new FormatException($"Not a JSON object: {line}");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string name = reader.GetString()!;
                reader.Read();
                if (name == "user" && reader.TokenType == JsonTokenType.String)
                {
                    user = reader.GetString();
                }
                else if (name == field && reader.TokenType == JsonTokenType.String)
                {
                    value = reader.GetString();
                }
                else if (name == "ts" && reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out long t))
                {
                    ts = t;
                }
                else
                {
                    reader.Skip();
                }
            }

            return user is not null && value is not null && ts is not null
                ? (user, value, ts)
                : throw new FormatException($"Expected \"user\", \"{field}\" (strings) and \"ts\" (an integer): {line}");
        }
        catch (JsonException ex)
        {
            throw new FormatException($"Malformed JSON ({ex.Message}): {line}", ex);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(utf8);
        }
    }
}
