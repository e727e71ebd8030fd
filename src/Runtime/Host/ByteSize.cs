using System;
using System.Globalization;

namespace Weir.Hosting
{
    /// <summary>Reads sizes given on the command line: a whole number with an optional binary unit (b, k/kb/kib, m/mb/mib, g/gb/gib; case-insensitive).</summary>
    public static class ByteSize
    {
        /// <summary>Parses <paramref name="text"/>; a number without a unit is bytes. Units are powers of 1024, as memory sizes are.</summary>
        public static bool TryParse(string text, out long bytes)
        {
            bytes = 0;
            ReadOnlySpan<char> span = text.AsSpan().Trim();
            int digits = 0;
            while (digits < span.Length && char.IsAsciiDigit(span[digits]))
            {
                digits++;
            }

            if (digits == 0 || !long.TryParse(span[..digits], NumberStyles.None, CultureInfo.InvariantCulture, out long number))
            {
                return false;
            }

            int shift;
            switch (span[digits..].Trim().ToString().ToLowerInvariant())
            {
                case "" or "b":
                    shift = 0;
                    break;
                case "k" or "kb" or "kib":
                    shift = 10;
                    break;
                case "m" or "mb" or "mib":
                    shift = 20;
                    break;
                case "g" or "gb" or "gib":
                    shift = 30;
                    break;
                default:
                    return false;
            }

            if (number > long.MaxValue >> shift)
            {
                return false;
            }

            bytes = number << shift;
            return true;
        }
    }
}
