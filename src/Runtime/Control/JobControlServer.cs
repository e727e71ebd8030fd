using System;
using System.Collections.Generic;
using System.IO;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Weir.Checkpointing.Subtasks;

namespace Weir.Control
{
    /// <summary>
    /// Serves a running job's control endpoint (<see cref="JobControlProtocol"/>): savepoints, stop
    /// with savepoint (with or without draining the input) and cancel. It lives as long as the job's
    /// run in the executor; the socket is created readable and writable by the job's user only and
    /// removed when the job ends.
    /// </summary>
    internal sealed class JobControlServer : IDisposable
    {
        private static readonly TimeSpan s_stopReplyWait = TimeSpan.FromMinutes(2);

        private readonly Socket _listener;
        private readonly string _socketPath;
        private readonly CheckpointDriver _driver;
        private readonly CancellationTokenSource _stop;
        private readonly CancellationTokenSource _abort;
        private readonly string _defaultSavepoints;
        private readonly ILogger _logger;
        private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly List<Task> _connections = [];
        private readonly Thread _thread;
        private int _stopping;
        private string? _stoppedWithSavepoint;
        private readonly ManualResetEventSlim _stopSettled = new(false);
        private volatile bool _disposed;

        private JobControlServer(Socket listener, string socketPath, CheckpointDriver driver, CancellationTokenSource stop, CancellationTokenSource abort, string defaultSavepoints, ILogger logger)
        {
            _listener = listener;
            _socketPath = socketPath;
            _driver = driver;
            _stop = stop;
            _abort = abort;
            _defaultSavepoints = defaultSavepoints;
            _logger = logger;
            _thread = new Thread(Accept) { Name = "weir: job control", IsBackground = true };
            _thread.Start();
        }

        /// <summary>The savepoint the job was stopped with, once a stop request took one.</summary>
        public string? StoppedWithSavepoint
        {
            get => Volatile.Read(ref _stoppedWithSavepoint);
            private set => Volatile.Write(ref _stoppedWithSavepoint, value);
        }

        /// <summary>Whether a cancel request aborted the job.</summary>
        public bool Cancelled { get; private set; }

        /// <summary>
        /// Starts serving at <c>&lt;checkpointDirectory&gt;/&lt;job&gt;/_control.sock</c>; null (with a warning)
        /// when the platform or the path length does not allow a Unix domain socket.
        /// </summary>
        public static JobControlServer? Start(string checkpointDirectory, string jobName, CheckpointDriver driver, CancellationTokenSource stop, CancellationTokenSource abort, ILogger logger)
        {
            string socketPath = JobControlProtocol.SocketPath(checkpointDirectory, jobName);
            string savepoints = Path.Combine(Path.GetDirectoryName(socketPath)!, Checkpointing.Storage.CheckpointLayout.SavepointsDirectoryName);
            if (!Socket.OSSupportsUnixDomainSockets || System.Text.Encoding.UTF8.GetByteCount(socketPath) > JobControlProtocol.MaxSocketPathBytes)
            {
                logger.LogWarning(
                    "Job control (savepoint, stop, cancel commands) is unavailable: the control socket '{Path}' needs Unix domain sockets and a path of at most {Max} bytes; use a shorter --checkpoint-dir.",
                    socketPath, JobControlProtocol.MaxSocketPathBytes);
                return null;
            }

            Directory.CreateDirectory(Path.GetDirectoryName(socketPath)!);

            // A socket left by a killed run: the directory lock says no other process uses it now.
            File.Delete(socketPath);
            var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                listener.Bind(new UnixDomainSocketEndPoint(socketPath));
                if (!OperatingSystem.IsWindows())
                {
                    // Before Listen: nobody can connect until only the owner may.
                    File.SetUnixFileMode(socketPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                }

                listener.Listen(8);
            }
            catch
            {
                listener.Dispose();
                throw;
            }

            logger.LogInformation("Job control endpoint: {Path} (savepoint, stop, cancel)", socketPath);
            return new JobControlServer(listener, socketPath, driver, stop, abort, savepoints, logger);
        }

        /// <summary>
        /// The savepoint a stop took, once a stop request in progress has settled (its savepoint
        /// completed or failed); null when no stop was asked for or it failed.
        /// </summary>
        public string? StopOutcome(TimeSpan timeout)
        {
            if (Volatile.Read(ref _stopping) == 1)
            {
                _stopSettled.Wait(timeout);
            }

            return StoppedWithSavepoint;
        }

        /// <summary>The job's run has ended: stop and cancel requests waiting for that are answered.</summary>
        public void JobEnded() => _ended.TrySetResult();

        public void Dispose()
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _ended.TrySetResult();
            _listener.Dispose();
            _thread.Join(TimeSpan.FromSeconds(5));
            Task[] connections;
            lock (_connections)
            {
                connections = _connections.ToArray();
            }

            // Replies still being written get a moment; a savepoint still in flight fails with the job.
            Task.WaitAll(Array.ConvertAll(connections, t => t.ContinueWith(static _ => { }, TaskScheduler.Default)), TimeSpan.FromSeconds(5));
            try
            {
                File.Delete(_socketPath);
            }
            catch (IOException)
            {
            }
        }

        private void Accept()
        {
            while (!_disposed)
            {
                Socket connection;
                try
                {
                    connection = _listener.Accept();
                }
                catch (Exception) when (_disposed)
                {
                    return;
                }
                catch (SocketException e)
                {
                    _logger.LogWarning("Job control: accepting a connection failed: {Message}", e.Message);
                    continue;
                }

                Task task = Task.Run(() => Serve(connection));
                lock (_connections)
                {
                    _connections.RemoveAll(t => t.IsCompleted);
                    _connections.Add(task);
                }
            }
        }

        private async Task Serve(Socket connection)
        {
            using (connection)
            {
                string reply;
                try
                {
                    connection.ReceiveTimeout = 10_000;
                    string? request = JobControlProtocol.ReadLine(connection);
                    reply = request is null ? JobControlProtocol.Line(JobControlProtocol.Error, "empty request") : await Handle(request.Split('\t')).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    reply = JobControlProtocol.Line(JobControlProtocol.Error, ex is AggregateException { InnerException: { } inner } ? inner.Message : ex.Message);
                }

                try
                {
                    JobControlProtocol.WriteLine(connection, reply);
                }
                catch (SocketException e)
                {
                    _logger.LogWarning("Job control: the reply could not be sent (the client went away): {Message}", e.Message);
                }
            }
        }

        private async Task<string> Handle(string[] request)
        {
            switch (request[0])
            {
                case JobControlProtocol.Savepoint:
                {
                    string target = Target(request, 1);
                    _logger.LogInformation("Job control: savepoint requested under '{Target}'", target);
                    SavepointResult savepoint = await _driver.TriggerSavepoint(target).ConfigureAwait(false);
                    return JobControlProtocol.Line(JobControlProtocol.Ok, savepoint.Directory);
                }

                case JobControlProtocol.Stop:
                {
                    bool drain = request.Length > 1 && request[1] == "1";
                    string target = Target(request, 2);
                    if (Interlocked.Exchange(ref _stopping, 1) == 1)
                    {
                        return JobControlProtocol.Line(JobControlProtocol.Error, "The job is already stopping.");
                    }

                    try
                    {
                        SavepointResult savepoint;
                        try
                        {
                            savepoint = drain ? await StopDrained(target).ConfigureAwait(false) : await StopAfterSavepoint(target).ConfigureAwait(false);
                        }
                        finally
                        {
                            _stopSettled.Set();
                        }

                        await _ended.Task.WaitAsync(s_stopReplyWait).ConfigureAwait(false);
                        return JobControlProtocol.Line(JobControlProtocol.Ok, savepoint.Directory);
                    }
                    catch
                    {
                        // Unsettled again before another stop may start: StopOutcome must wait for that one.
                        _stopSettled.Reset();
                        Volatile.Write(ref _stopping, 0);
                        throw;
                    }
                }

                case JobControlProtocol.Cancel:
                    _logger.LogWarning("Job control: cancel requested: every subtask stops now, nothing more is committed.");
                    Cancelled = true;
                    _abort.Cancel();
                    await _ended.Task.WaitAsync(s_stopReplyWait).ConfigureAwait(false);
                    return JobControlProtocol.Line(JobControlProtocol.Ok);

                default:
                    return JobControlProtocol.Line(JobControlProtocol.Error, $"Unknown request '{request[0]}': this job understands savepoint, stop and cancel.");
            }
        }

        private async Task<SavepointResult> StopAfterSavepoint(string target)
        {
            _logger.LogInformation("Job control: stop with savepoint under '{Target}' (no drain: the job stops right after it, without ending its input)", target);
            SavepointResult savepoint = await _driver.TriggerSavepoint(target, stopsJob: true).ConfigureAwait(false);

            // Sinks commit what the savepoint covers before the job is torn down (Flink does the same).
            switch (_driver.WaitForSavepointNotified(savepoint.CheckpointId, TimeSpan.FromSeconds(30)))
            {
                case SavepointCommitWait.TimedOut:
                    // The attempt that holds the savepoint's transactions is still the running one, and the
                    // abort below ends it without touching them: a restore from the savepoint commits them.
                    _logger.LogWarning("Not every subtask confirmed savepoint {CheckpointId} within 30 s; stopping anyway (a restore from it commits what is left).", savepoint.CheckpointId);
                    break;
                case SavepointCommitWait.AttemptEnded:
                    // The job failed in between and restarts from an older checkpoint, whose restore
                    // deletes the transactions only this savepoint refers to: "ok" would hand out a
                    // savepoint whose output is gone. The job keeps running, as after any failure.
                    throw new InvalidOperationException(
                        $"Savepoint {savepoint.CheckpointId} into '{savepoint.Directory}' completed, but the job failed before its sinks committed it, " +
                        "so the job was not stopped: it restarts from its latest checkpoint. Do not resume from that savepoint; ask to stop again.");
            }

            // Ordering that makes "ok" true: the savepoint is durable and committed (above), the outcome
            // is published before the abort that ends the run (the executor reads it once the run has
            // returned, after the request settled), and the reply waits for the job's end (_ended), so
            // the client never hears "ok" from a job still running. A failure after the sinks committed
            // cannot take the savepoint's output back (committed files are final, and an attempt
            // restarted in between is aborted before it commits anything), so "ok" is still the truth
            // about the savepoint, while the job's exit code reports the failure.
            StoppedWithSavepoint = savepoint.Directory;
            _abort.Cancel();
            _logger.LogInformation("Job stopped with savepoint {Directory}; resume with: run --from-savepoint {Directory}", savepoint.Directory, savepoint.Directory);
            return savepoint;
        }

        private async Task<SavepointResult> StopDrained(string target)
        {
            _logger.LogInformation("Job control: stop with savepoint under '{Target}' after draining: sources end their input, everything in flight is processed and committed", target);
            Task<SavepointResult> final = _driver.SavepointWhenDrained(target);
            _stop.Cancel();
            SavepointResult savepoint = await final.ConfigureAwait(false);
            StoppedWithSavepoint = savepoint.Directory;
            _logger.LogInformation("Job drained and stopped with savepoint {Directory}; resume with: run --from-savepoint {Directory}", savepoint.Directory, savepoint.Directory);
            return savepoint;
        }

        private string Target(string[] request, int index)
            => request.Length > index && request[index].Length > 0 ? request[index] : _defaultSavepoints;
    }
}
