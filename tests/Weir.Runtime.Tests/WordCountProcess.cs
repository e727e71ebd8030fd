using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Text;

namespace Weir.Runtime.Tests;

/// <summary>
/// The WordCount sample's binary (copied next to the tests) run as a real process, its standard
/// output and error captured, for tests that kill it, restart it or drive it through its command line.
/// </summary>
internal sealed class WordCountProcess : IDisposable
{
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _error = new();

    private WordCountProcess(IEnumerable<string> arguments)
    {
        string binary = Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "WordCount.exe" : "WordCount");
        var start = new ProcessStartInfo(binary)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        Process = new Process { StartInfo = start };
        Process.OutputDataReceived += (_, e) => Append(_output, e.Data);
        Process.ErrorDataReceived += (_, e) => Append(_error, e.Data);
        Process.Start();
        Process.BeginErrorReadLine();
        Process.BeginOutputReadLine();
    }

    public Process Process { get; }

    /// <summary>What the process wrote to standard output so far.</summary>
    public string StandardOutput => Read(_output);

    /// <summary>What the process wrote to standard error so far.</summary>
    public string StandardError => Read(_error);

    public static WordCountProcess Start(IEnumerable<string> arguments) => new(arguments);

    public void Dispose() => Process.Dispose();

    private static void Append(StringBuilder text, string? line)
    {
        if (line is not null)
        {
            lock (text)
            {
                text.AppendLine(line);
            }
        }
    }

    private static string Read(StringBuilder text)
    {
        lock (text)
        {
            return text.ToString();
        }
    }
}
