using System;
using System.IO;
using System.Net.Sockets;

namespace Weir.Control
{
    /// <summary>
    /// Sends one request to a running job's control endpoint (see <see cref="JobControlProtocol"/>):
    /// what the <c>savepoint</c>, <c>stop</c> and <c>cancel</c> commands do.
    /// </summary>
    public sealed class JobControlClient
    {
        private readonly string _checkpointDirectory;
        private readonly string _jobName;

        /// <summary>A client for job <paramref name="jobName"/> running on <paramref name="checkpointDirectory"/>.</summary>
        public JobControlClient(string checkpointDirectory, string jobName)
        {
            ArgumentException.ThrowIfNullOrEmpty(checkpointDirectory);
            _checkpointDirectory = checkpointDirectory;
            _jobName = jobName;
            SocketPath = JobControlProtocol.SocketPath(checkpointDirectory, jobName);
        }

        /// <summary>The endpoint this client connects to.</summary>
        public string SocketPath { get; }

        /// <summary>How long to wait for the job's reply (a savepoint of large state takes a while).</summary>
        public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(10);

        /// <summary>Takes a savepoint under <paramref name="targetDirectory"/> (null: the job's default) and returns its directory.</summary>
        /// <exception cref="JobControlException">No job answers, or the savepoint failed.</exception>
        public string TriggerSavepoint(string? targetDirectory)
            => Send(JobControlProtocol.Savepoint, Target(targetDirectory));

        /// <summary>Takes a savepoint, then stops the job (with <paramref name="drain"/>: after ending its input); returns the savepoint's directory once the job has stopped.</summary>
        /// <exception cref="JobControlException">No job answers, or the savepoint failed (the job then keeps running).</exception>
        public string StopWithSavepoint(string? targetDirectory, bool drain)
            => Send(JobControlProtocol.Stop, drain ? "1" : "0", Target(targetDirectory));

        /// <summary>Cancels the job: every subtask stops at once and nothing more is committed.</summary>
        /// <exception cref="JobControlException">No job answers.</exception>
        public void Cancel() => Send(JobControlProtocol.Cancel);

        private static string Target(string? directory) => directory is null ? string.Empty : Path.GetFullPath(directory);

        private string Send(params string[] request)
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                socket.Connect(new UnixDomainSocketEndPoint(SocketPath));
            }
            catch (SocketException e)
            {
                throw new JobControlException(
                    $"No job '{_jobName}' is running on checkpoint directory '{Path.GetFullPath(_checkpointDirectory)}': nothing answers at '{SocketPath}' ({e.SocketErrorCode}). " +
                    $"Check the directory, and that the job was started with run --checkpoint-dir on this machine.",
                    e);
            }

            socket.ReceiveTimeout = (int)Math.Min(int.MaxValue, Timeout.TotalMilliseconds);
            socket.SendTimeout = 10_000;
            string? reply;
            try
            {
                JobControlProtocol.WriteLine(socket, JobControlProtocol.Line(request));
                reply = JobControlProtocol.ReadLine(socket);
            }
            catch (SocketException e)
            {
                throw new JobControlException($"Job '{_jobName}' did not answer over '{SocketPath}' ({e.SocketErrorCode}): {e.Message}", e);
            }

            if (reply is null)
            {
                throw new JobControlException($"Job '{_jobName}' closed the control connection '{SocketPath}' without an answer (it may have ended meanwhile).");
            }

            string[] fields = reply.Split('\t', 2);
            return fields[0] switch
            {
                JobControlProtocol.Ok => fields.Length > 1 ? fields[1] : string.Empty,
                JobControlProtocol.Error => throw new JobControlException(fields.Length > 1 ? fields[1] : "The job refused the request without saying why."),
                _ => throw new JobControlException($"Job '{_jobName}' answered something this build does not understand: '{reply}'."),
            };
        }
    }

    /// <summary>A job-control request failed; the message says why and what to do.</summary>
    public sealed class JobControlException : Exception
    {
        /// <summary>Creates the exception.</summary>
        public JobControlException(string message, Exception? inner = null)
            : base(message, inner)
        {
        }
    }
}
