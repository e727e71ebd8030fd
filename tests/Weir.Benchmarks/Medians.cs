using System;
using System.Collections.Generic;
using System.Linq;

namespace Weir.Benchmarks;

/// <summary>The median of a benchmark's repeated runs (the mean of the middle two for an even count).</summary>
internal static class Medians
{
    public static TimeSpan Of(IEnumerable<TimeSpan> values)
    {
        TimeSpan[] sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    public static double Of(IEnumerable<double> values)
    {
        double[] sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
