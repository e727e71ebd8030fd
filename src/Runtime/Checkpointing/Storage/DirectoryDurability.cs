using System;
using System.IO;
using System.Runtime.InteropServices;

namespace Weir.Checkpointing.Storage
{
    /// <summary>
    /// Makes a directory's entries durable. A rename is only crash-safe once the directory that
    /// holds the new name is flushed: fsync of the file covers its bytes, not its name. .NET has no
    /// API for this (FileStream and File.OpenHandle refuse directories), so on Unix the directory is
    /// opened read-only through libc and fsynced (source-generated P/Invoke, AOT-safe). On Windows
    /// there is no portable equivalent: NTFS journals renames itself, so this does nothing there.
    /// </summary>
    internal static partial class DirectoryDurability
    {
        private const int ReadOnly = 0; // O_RDONLY: the same on Linux, macOS and FreeBSD.
        private const int InvalidArgument = 22; // EINVAL: the file system cannot sync directories.
        private const int NotSupportedLinux = 95; // EOPNOTSUPP on Linux.
        private const int NotSupportedBsd = 45; // EOPNOTSUPP on macOS and FreeBSD.

        /// <summary>Flushes the entries of <paramref name="directory"/> to disk.</summary>
        /// <exception cref="IOException">The directory cannot be opened or flushed.</exception>
        public static void Flush(string directory)
        {
            if (!(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD()))
            {
                return;
            }

            int descriptor = Open(directory, ReadOnly);
            if (descriptor < 0)
            {
                int error = Marshal.GetLastPInvokeError();
                throw new IOException($"Cannot open directory '{directory}' to flush it: {Marshal.GetPInvokeErrorMessage(error)} (errno {error}).");
            }

            try
            {
                if (Fsync(descriptor) != 0)
                {
                    int error = Marshal.GetLastPInvokeError();
                    // Some file systems (tmpfs on old kernels, some FUSE and network mounts) cannot sync
                    // a directory; their renames are as durable as they will ever be.
                    if (error is not (InvalidArgument or NotSupportedLinux or NotSupportedBsd))
                    {
                        throw new IOException($"Cannot flush directory '{directory}' to disk: {Marshal.GetPInvokeErrorMessage(error)} (errno {error}).");
                    }
                }
            }
            finally
            {
                _ = Close(descriptor);
            }
        }

        [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        private static partial int Open(string path, int flags);

        [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
        private static partial int Fsync(int descriptor);

        [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
        private static partial int Close(int descriptor);
    }
}
