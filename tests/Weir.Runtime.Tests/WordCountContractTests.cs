using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using Weir.Execution;
using WordCount;
using Xunit;

namespace Weir.Runtime.Tests;

/// <summary>WordCount's output contract: a word seen n times gives exactly the lines "w 1" .. "w n", each once.</summary>
public sealed class WordCountContractTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "weir-wc-" + Guid.NewGuid().ToString("N"));

    public WordCountContractTests() => Directory.CreateDirectory(_root);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void Directory_input_satisfies_the_contract(int parallelism)
    {
        string input = Path.Combine(_root, "in");
        WriteCorpus(input, files: 5, linesPerFile: 400, seed: 7);
        string output = Path.Combine(_root, $"out-{parallelism}");

        JobResult result = new LocalExecutor().Execute(WordCountJob.CreatePlan(input, output), new ExecutionOptions(Parallelism: parallelism));

        Assert.True(result.Completed);
        AssertContract(ExpectedCounts(TextFilesOf(input)), output);
    }

    [Fact]
    public void Single_file_input_satisfies_the_contract()
    {
        string input = Path.Combine(_root, "single.txt");
        File.WriteAllText(input, "Über über ÜBER straße 42 x42 42\n\n--- a-b a_b, É\té\r\nend");
        string output = Path.Combine(_root, "out");

        new LocalExecutor().Execute(WordCountJob.CreatePlan(input, output), new ExecutionOptions(Parallelism: 2));

        Dictionary<string, long> expected = ExpectedCounts(new[] { input });
        Assert.Equal(3, expected["über"]);
        Assert.Equal(2, expected["42"]);
        Assert.Equal(2, expected["b"]);
        AssertContract(expected, output);
    }

    [Fact]
    public void Hidden_and_underscore_input_files_are_skipped()
    {
        string input = Path.Combine(_root, "in");
        Directory.CreateDirectory(input);
        File.WriteAllText(Path.Combine(input, "a.txt"), "kept kept");
        File.WriteAllText(Path.Combine(input, ".hidden"), "skipped");
        File.WriteAllText(Path.Combine(input, "_SUCCESS"), "skipped");
        string output = Path.Combine(_root, "out");

        new LocalExecutor().Execute(WordCountJob.CreatePlan(input, output), new ExecutionOptions(Parallelism: 1));

        Assert.Equal(new[] { "kept\t1", "kept\t2" }, OutputLines(output).OrderBy(l => l, StringComparer.Ordinal));
    }

    internal static void WriteCorpus(string directory, int files, int linesPerFile, int seed)
    {
        Directory.CreateDirectory(directory);
        var random = new Random(seed);
        string[] vocabulary = Enumerable.Range(0, 300).Select(i => Word(random, i)).ToArray();
        string[] separators = { " ", "  ", ", ", ". ", "\t", " -- ", "; ", "!", "(", ")" };
        for (int f = 0; f < files; f++)
        {
            var text = new StringBuilder();
            for (int l = 0; l < linesPerFile; l++)
            {
                int words = random.Next(0, 12);
                for (int w = 0; w < words; w++)
                {
                    // Zipf-like: a few words are very frequent.
                    int index = (int)Math.Min(vocabulary.Length - 1, Math.Floor(Math.Pow(random.NextDouble(), 3) * vocabulary.Length));
                    string word = vocabulary[index];
                    text.Append(random.Next(4) == 0 ? word.ToUpperInvariant() : word);
                    text.Append(separators[random.Next(separators.Length)]);
                }

                text.Append(l % 7 == 0 ? "\r\n" : "\n");
            }

            File.WriteAllText(Path.Combine(directory, $"part-{f}.txt"), text.ToString());
        }
    }

    private static string Word(Random random, int i)
    {
        const string letters = "abcdefghijklmnopqrstuvwxyzéüßø0123456789";
        int length = 1 + random.Next(8);
        var word = new char[length];
        for (int c = 0; c < length; c++)
        {
            word[c] = letters[random.Next(letters.Length)];
        }

        return new string(word) + (i % 10 == 0 ? "x" : string.Empty);
    }

    internal static string[] TextFilesOf(string directory)
        => Directory.GetFiles(directory).OrderBy(f => f, StringComparer.Ordinal).ToArray();

    /// <summary>An independent reference: counts words the contract's way.</summary>
    internal static Dictionary<string, long> ExpectedCounts(IEnumerable<string> files)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (string file in files)
        {
            string text = File.ReadAllText(file);
            var word = new StringBuilder();
            foreach (char c in text + "\n")
            {
                if (char.IsLetterOrDigit(c))
                {
                    word.Append(c);
                }
                else if (word.Length > 0)
                {
                    string w = word.ToString().ToLowerInvariant();
                    counts[w] = counts.GetValueOrDefault(w) + 1;
                    word.Clear();
                }
            }
        }

        return counts;
    }

    internal static List<string> OutputLines(string output)
        => Directory.GetFiles(output)
            .Where(f => !Path.GetFileName(f).StartsWith('.') && !Path.GetFileName(f).StartsWith('_'))
            .SelectMany(f => File.ReadAllLines(f))
            .ToList();

    internal static void AssertContract(Dictionary<string, long> expected, string output)
    {
        List<string> lines = OutputLines(output);
        var expectedLines = expected.SelectMany(kv => Enumerable.Range(1, (int)kv.Value).Select(n => $"{kv.Key}\t{n}")).ToHashSet(StringComparer.Ordinal);
        var duplicates = lines.GroupBy(l => l, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).Take(5).ToArray();
        Assert.True(duplicates.Length == 0, "duplicate lines: " + string.Join(", ", duplicates));
        Assert.Equal(expectedLines.Count, lines.Count);
        var missing = expectedLines.Except(lines).Take(5).ToArray();
        Assert.True(missing.Length == 0, "missing lines: " + string.Join(", ", missing));

        // Within a part file, each word's running counts appear in order (one subtask owns a key);
        // with checkpoints a file holds one checkpoint's lines, so a word's first count in it may be
        // anywhere, and each next one is one more.
        foreach (string file in Directory.GetFiles(output, "part-*"))
        {
            var last = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (string line in File.ReadLines(file))
            {
                string[] parts = line.Split('\t');
                long n = long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
                if (last.TryGetValue(parts[0], out long previous))
                {
                    Assert.Equal(previous + 1, n);
                }

                last[parts[0]] = n;
            }
        }
    }
}
