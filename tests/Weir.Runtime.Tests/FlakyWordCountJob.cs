using System;
using System.Threading;
using Weir;
using WordCount;

namespace Weir.Runtime.Tests;

/// <summary>
/// WordCount with a map that throws once, when the <see cref="FailAtWord"/>-th word passes (counted
/// over all attempts), to inject a failure in user code in the middle of a run.
/// </summary>
[Job("flaky-word-count")]
public static partial class FlakyWordCountJob
{
    private static long s_words;
    private static long s_failAt = long.MaxValue;

    /// <summary>Arms the failure: the <paramref name="word"/>-th word from now throws, once.</summary>
    public static void FailAtWord(long word)
    {
        Interlocked.Exchange(ref s_words, 0);
        Interlocked.Exchange(ref s_failAt, word);
    }

    [Pipeline]
    private static void Define(PipelineBuilder p, string input, string output, double rate) => p
        .Source("lines", Sources.TextLines(input, rate))
        .FlatMap<string>(WordCountJob.SplitWords)
        .Map(ThrowOnce)
        .KeyBy(word => word)
        .Process("running-counts", new RunningCount())
        .Sink("counts", Sinks.TextFiles<WordCountLine>(output));

    private static string ThrowOnce(string word)
    {
        if (Interlocked.Increment(ref s_words) == Volatile.Read(ref s_failAt))
        {
            throw new InvalidOperationException($"injected failure at word '{word}'");
        }

        return word;
    }
}
