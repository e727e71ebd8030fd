using System;
using Weir;

namespace WordCount;

/// <summary>
/// Counts words. For every occurrence of a word it emits the word's running count, so a word seen
/// n times yields the lines "w 1" ... "w n". Words are maximal runs of letters or digits, lower-cased.
/// </summary>
[Job("word-count")]
public static partial class WordCountJob
{
    [Pipeline]
    private static void Define(
        PipelineBuilder p,
        [Option("A text file, or a directory of text files.")] string input,
        [Option("Directory for the output files (part-*.txt; with checkpoints one file per subtask and checkpoint, made visible when the checkpoint completes).")] string output,
        [Option("Read at most this many lines per second over all subtasks (0: as fast as possible); for demos and crash tests.")] double rate = 0)
        => p
            .Source("lines", Sources.TextLines(input, rate))
            .FlatMap<string>(SplitWords)
            .KeyBy(word => word)
            .Process("running-counts", new RunningCount())
            .Sink("counts", Sinks.TextFiles<WordCountLine>(output));

    /// <summary>Splits a line into lower-cased words (maximal runs of letters or digits).</summary>
    public static void SplitWords(string line, ref Collector<string> words)
    {
        int start = -1;
        for (int i = 0; i <= line.Length; i++)
        {
            bool inWord = i < line.Length && char.IsLetterOrDigit(line[i]);
            if (inWord && start < 0)
            {
                start = i;
            }
            else if (!inWord && start >= 0)
            {
                words.Collect(Lower(line.AsSpan(start, i - start)));
                start = -1;
            }
        }
    }

    private static string Lower(ReadOnlySpan<char> word)
    {
        // One allocation per word: the word itself, lower-cased while it is copied.
        return string.Create(word.Length, word, static (destination, source) => source.ToLowerInvariant(destination));
    }
}

/// <summary>Each word's running count, in keyed state.</summary>
public struct RunningCount : IKeyedProcessFunction<string, string, WordCountLine>
{
    [State("count")]
    private ValueState<long> _count;

    public void Process(in string word, ProcessContext<string> context, ref Collector<WordCountLine> output)
    {
        long count = _count.Value + 1;
        _count.Value = count;
        output.Collect(new WordCountLine(word, count));
    }
}

/// <summary>One output line: <c>word&lt;TAB&gt;count</c>.</summary>
public readonly record struct WordCountLine(string Word, long Count) : ISpanFormattable
{
    public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
        => destination.TryWrite(System.Globalization.CultureInfo.InvariantCulture, $"{Word}\t{Count}", out charsWritten);

    public string ToString(string? format, IFormatProvider? formatProvider) => $"{Word}\t{Count}";

    public override string ToString() => ToString(null, null);
}
