using System;
using System.Globalization;
using System.Text;

namespace Weir.Hosting
{
    /// <summary>
    /// Reads durations given on the command line: one or more number-unit pairs from the largest unit
    /// to the smallest, such as <c>200ms</c>, <c>10s</c>, <c>1.5s</c>, <c>5m</c>, <c>1h</c> or
    /// <c>1m30s</c>, and the bare <c>0</c>. Units (case-insensitive): ms, s (sec), m (min), h, d.
    /// </summary>
    public static class Duration
    {
        private const string Examples = "e.g. 200ms, 10s, 1.5s, 1m30s";

        /// <summary>Parses <paramref name="text"/>; false if it is not a non-negative duration.</summary>
        public static bool TryParse(string text, out TimeSpan duration) => TryParse(text, out duration, out _);

        /// <summary>
        /// Parses <paramref name="text"/>. On failure <paramref name="error"/> says what is wrong in words
        /// a user can act on, quoting the input, e.g. <c>'5x' is not a duration: unknown unit 'x'; use ms, s, m, h or d (e.g. 200ms, 10s, 1.5s, 1m30s)</c>.
        /// </summary>
        public static bool TryParse(string? text, out TimeSpan duration, out string error)
        {
            duration = TimeSpan.Zero;
            ReadOnlySpan<char> span = text.AsSpan().Trim();
            if (span.IsEmpty)
            {
                error = $"a duration is required ({Examples})";
                return false;
            }

            if (span[0] == '-')
            {
                error = $"'{text}' is not a duration: durations cannot be negative";
                return false;
            }

            // A bare zero needs no unit: "0" is the same duration in every unit, so it cannot be misread.
            if (span.Length == 1 && span[0] == '0')
            {
                error = "";
                return true;
            }

            // Ticks are summed as decimal so that fractions ("1.5s") are exact and an overflow is seen
            // before it wraps, not after.
            decimal totalTicks = 0;
            long previousUnitTicks = long.MaxValue;
            int position = 0;
            while (position < span.Length)
            {
                int numberStart = position;
                while (position < span.Length && (char.IsAsciiDigit(span[position]) || span[position] == '.'))
                {
                    position++;
                }

                ReadOnlySpan<char> number = span[numberStart..position];
                while (position < span.Length && char.IsWhiteSpace(span[position]))
                {
                    position++;
                }

                int unitStart = position;
                while (position < span.Length && char.IsAsciiLetter(span[position]))
                {
                    position++;
                }

                ReadOnlySpan<char> unit = span[unitStart..position];
                if (number.IsEmpty)
                {
                    error = unit.IsEmpty
                        ? $"'{text}' is not a duration: unexpected '{span[position]}' ({Examples})"
                        : $"'{text}' is not a duration: expected a number before '{unit}' ({Examples})";
                    return false;
                }

                if (!decimal.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal value))
                {
                    error = $"'{text}' is not a duration: '{number}' is not a number ({Examples})";
                    return false;
                }

                if (unit.IsEmpty)
                {
                    // "10" could be seconds or milliseconds depending on who wrote it; refuse to guess.
                    error = $"'{text}' is not a duration: '{number}' needs a unit (ms, s, m, h or d), e.g. {number}s; only 0 may be written without one";
                    return false;
                }

                long unitTicks = TicksOf(unit);
                if (unitTicks == 0)
                {
                    error = $"'{text}' is not a duration: unknown unit '{unit}'; use ms, s, m, h or d ({Examples})";
                    return false;
                }

                // "30s1m" or "1m1m" is almost certainly a typo; a fixed order keeps every duration one spelling.
                if (unitTicks >= previousUnitTicks)
                {
                    error = $"'{text}' is not a duration: write units from largest to smallest, each once (e.g. 1h30m, 1m30s)";
                    return false;
                }

                previousUnitTicks = unitTicks;
                totalTicks += value * unitTicks;
                if (totalTicks > TimeSpan.MaxValue.Ticks)
                {
                    error = $"'{text}' is not a duration: it is longer than the longest supported duration ({(long)TimeSpan.MaxValue.TotalDays} days)";
                    return false;
                }

                while (position < span.Length && char.IsWhiteSpace(span[position]))
                {
                    position++;
                }
            }

            // Below 100 ns (one tick) there is nothing to keep; round rather than reject "0.00000001s".
            duration = TimeSpan.FromTicks((long)decimal.Round(totalTicks, MidpointRounding.AwayFromZero));
            error = "";
            return true;
        }

        /// <summary>
        /// Writes <paramref name="duration"/> in the form <see cref="TryParse(string, out TimeSpan)"/> reads:
        /// zero is <c>0</c>, otherwise the non-zero days, hours, minutes, seconds and milliseconds from largest
        /// to smallest (<c>1m30s</c>, <c>1s500ms</c>), with any part below a millisecond as a fraction of
        /// <c>ms</c> (<c>0.25ms</c>). A negative duration gets a leading '-' (for logs; it does not parse back).
        /// </summary>
        public static string Format(TimeSpan duration)
        {
            if (duration == TimeSpan.Zero)
            {
                return "0";
            }

            var builder = new StringBuilder();
            // Negating long.MinValue ticks overflows; work on the magnitude as an unsigned number instead.
            ulong remaining;
            if (duration.Ticks < 0)
            {
                builder.Append('-');
                remaining = (ulong)(-(duration.Ticks + 1)) + 1;
            }
            else
            {
                remaining = (ulong)duration.Ticks;
            }

            remaining = AppendPart(builder, remaining, TimeSpan.TicksPerDay, "d");
            remaining = AppendPart(builder, remaining, TimeSpan.TicksPerHour, "h");
            remaining = AppendPart(builder, remaining, TimeSpan.TicksPerMinute, "m");
            remaining = AppendPart(builder, remaining, TimeSpan.TicksPerSecond, "s");
            if (remaining > 0)
            {
                decimal milliseconds = (decimal)remaining / TimeSpan.TicksPerMillisecond;
                builder.Append(milliseconds.ToString(CultureInfo.InvariantCulture)).Append("ms");
            }

            return builder.ToString();
        }

        private static ulong AppendPart(StringBuilder builder, ulong remaining, long unitTicks, string unit)
        {
            ulong count = remaining / (ulong)unitTicks;
            if (count > 0)
            {
                builder.Append(count.ToString(CultureInfo.InvariantCulture)).Append(unit);
            }

            return remaining % (ulong)unitTicks;
        }

        /// <summary>Ticks in one <paramref name="unit"/>, or 0 if the unit is unknown.</summary>
        private static long TicksOf(ReadOnlySpan<char> unit)
        {
            Span<char> lower = stackalloc char[8];
            if (unit.Length > lower.Length)
            {
                return 0;
            }

            int length = unit.ToLowerInvariant(lower);
            return lower[..length] switch
            {
                "ms" => TimeSpan.TicksPerMillisecond,
                "s" or "sec" => TimeSpan.TicksPerSecond,
                "m" or "min" => TimeSpan.TicksPerMinute,
                "h" => TimeSpan.TicksPerHour,
                "d" => TimeSpan.TicksPerDay,
                _ => 0,
            };
        }
    }
}
