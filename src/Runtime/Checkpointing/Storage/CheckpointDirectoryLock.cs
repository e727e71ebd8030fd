using System;
using System.IO;

namespace Weir.Checkpointing.Storage
{
    /// <summary>
    /// Keeps a second process from running the same job on the same checkpoint directory, which
    /// would interleave two jobs' checkpoints and commits: an exclusive lock on
    /// <c>&lt;dir&gt;/.&lt;job&gt;.lock</c>, held for the life of the run. The operating system
    /// releases it when the process dies, so a killed job never blocks its own restart.
    /// </summary>
    public sealed class CheckpointDirectoryLock : IDisposable
    {
        private readonly FileStream _file;

        private CheckpointDirectoryLock(FileStream file) => _file = file;

        /// <summary>Takes the lock of <paramref name="jobName"/> in <paramref name="directory"/>.</summary>
        /// <exception cref="CheckpointStorageException">Another process holds it.</exception>
        public static CheckpointDirectoryLock Acquire(string directory, string jobName)
        {
            Directory.CreateDirectory(directory);
            string path = Path.Combine(directory, "." + jobName + ".lock");
            try
            {
                // FileShare.None is an exclusive advisory lock (flock) on Unix and a share lock on Windows.
                var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                file.SetLength(0);
                using (var writer = new StreamWriter(file, leaveOpen: true))
                {
                    writer.Write(Environment.ProcessId);
                }

                file.Flush();
                return new CheckpointDirectoryLock(file);
            }
            catch (IOException ex)
            {
                throw new CheckpointStorageException(
                    path,
                    $"Another process is running job '{jobName}' on checkpoint directory '{Path.GetFullPath(directory)}' (lock file '{path}'). " +
                    "Stop it first, or give this run its own --checkpoint-dir.",
                    ex);
            }
        }

        /// <inheritdoc/>
        public void Dispose() => _file.Dispose();
    }
}
