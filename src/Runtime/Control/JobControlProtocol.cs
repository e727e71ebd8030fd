using System;
using System.IO;
using System.Net.Sockets;
using System.Text;
using Weir.Checkpointing.Storage;

namespace Weir.Control
{
    /// <summary>
    /// The local job-control endpoint of a running job (docs/savepoints.md): a Unix domain socket
    /// <c>&lt;checkpoint dir&gt;/&lt;job&gt;/_control.sock</c>, readable and writable by the job's user
    /// only. One request per connection, one line each way, UTF-8, fields separated by tabs:
    /// <code>
    /// savepoint &lt;target dir or empty&gt;                  → ok &lt;savepoint dir&gt;   | error &lt;message&gt;
    /// stop &lt;drain: 0|1&gt; &lt;target dir or empty&gt;          → ok &lt;savepoint dir&gt;   | error &lt;message&gt;
    /// cancel                                            → ok                     | error &lt;message&gt;
    /// </code>
    /// </summary>
    public static class JobControlProtocol
    {
        /// <summary>The name of the socket in the job's checkpoint directory.</summary>
        public const string SocketFileName = "_control.sock";

        /// <summary>The longest socket path the platforms accept (sun_path holds 108 bytes on Linux, 104 on macOS).</summary>
        public const int MaxSocketPathBytes = 103;

        internal const string Savepoint = "savepoint";
        internal const string Stop = "stop";
        internal const string Cancel = "cancel";
        internal const string Ok = "ok";
        internal const string Error = "error";

        /// <summary>The control socket of job <paramref name="jobName"/> using <paramref name="checkpointDirectory"/>.</summary>
        public static string SocketPath(string checkpointDirectory, string jobName)
        {
            CheckpointLayout.ValidateJobName(jobName);
            return Path.Combine(Path.GetFullPath(checkpointDirectory), jobName, SocketFileName);
        }

        /// <summary>Joins fields into one request or reply line (tabs and line breaks inside a field become spaces).</summary>
        internal static string Line(params string[] fields)
        {
            for (int i = 0; i < fields.Length; i++)
            {
                fields[i] = fields[i].Replace('\t', ' ').Replace('\r', ' ').Replace('\n', ' ');
            }

            return string.Join('\t', fields) + "\n";
        }

        /// <summary>Reads one line (at most 64 KiB) from a connected socket; null when the peer closed first.</summary>
        internal static string? ReadLine(Socket socket)
        {
            var bytes = new MemoryStream();
            byte[] buffer = new byte[1];
            while (bytes.Length < 65536)
            {
                int read = socket.Receive(buffer);
                if (read == 0)
                {
                    return null;
                }

                if (buffer[0] == (byte)'\n')
                {
                    return Encoding.UTF8.GetString(bytes.GetBuffer(), 0, (int)bytes.Length);
                }

                bytes.WriteByte(buffer[0]);
            }

            throw new InvalidDataException("The control message is longer than 64 KiB.");
        }

        internal static void WriteLine(Socket socket, string line) => socket.Send(Encoding.UTF8.GetBytes(line));
    }
}
