using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Text;

namespace Weir.Runtime.Tests;

/// <summary>
/// A sample's built binary run as a real process (a dll with <c>dotnet &lt;dll&gt;</c>, or an
/// executable such as the WordCount binary copied next to the tests), its standard output and error
/// captured, for tests that kill it, restart it or drive it through its command line.
/// </summary>
internal sealed class SampleProcess : IDisposable
{
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _error = new();

    private SampleProcess(string program, IEnumerable<string> arguments)
    {
        bool viaDotnet = program.EndsWith(".dll", StringComparison.OrdinalIgnoreCase);
        var start = new ProcessStartInfo(viaDotnet ? "dotnet" : program)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        if (viaDotnet)
        {
            start.ArgumentList.Add(program);
        }

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

    public string StandardOutput => Read(_output);

    public string StandardError => Read(_error);

    /// <summary>
    /// The sample's dll: <c>samples/NAME/bin/Release/net10.0/NAME.dll</c> of the repository the tests
    /// run from, else the copy next to the tests (a project reference copies it there).
    /// </summary>
    public static string Locate(string sample)
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            string candidate = Path.Combine(directory.FullName, "samples", sample, "bin", "Release", "net10.0", sample + ".dll");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return Path.Combine(AppContext.BaseDirectory, sample + ".dll");
    }

    /// <summary>The WordCount sample's executable, copied next to the tests by its project reference.</summary>
    public static string WordCount => Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "WordCount.exe" : "WordCount");

    /// <summary>Starts <paramref name="program"/> (a dll or an executable) with <paramref name="arguments"/>.</summary>
    public static SampleProcess Start(string program, IEnumerable<string> arguments) => new(program, arguments);

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
