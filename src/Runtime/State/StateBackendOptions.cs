using System;
using System.IO;

namespace Weir.State
{
    /// <summary>Where keyed state lives while a job runs.</summary>
    public enum StateBackendKind
    {
        /// <summary>Objects on the managed heap: fastest; state must fit in memory.</summary>
        Heap,

        /// <summary>
        /// Microsoft FASTER's hybrid log, one store per subtask: a memory budget for the log's in-memory part,
        /// the rest spilled to local files, so state can be far larger than memory.
        /// </summary>
        Faster,
    }

    /// <summary>The state backend of a run and its settings (the <c>--state-backend</c> options of a job's command line).</summary>
    /// <param name="Kind">Heap (default) or FASTER.</param>
    /// <param name="Directory">
    /// FASTER only: the local directory for the stores' log files (a directory per run is created inside and deleted when the
    /// run ends). Null: a <c>weir-state</c> directory under the system's temporary directory.
    /// </param>
    /// <param name="MemoryBudgetBytes">FASTER only: memory for the in-memory part of each subtask's log (at least 4 MiB).</param>
    /// <param name="CachedKeys">FASTER only: keys each keyed operator subtask keeps deserialized in memory, in front of its store.</param>
    public sealed record StateBackendOptions(
        StateBackendKind Kind = StateBackendKind.Heap,
        string? Directory = null,
        long MemoryBudgetBytes = StateBackendOptions.DefaultMemoryBudgetBytes,
        int CachedKeys = StateBackendOptions.DefaultCachedKeys)
    {
        /// <summary>Default FASTER memory budget per subtask: 64 MiB.</summary>
        public const long DefaultMemoryBudgetBytes = 64L << 20;

        /// <summary>Default keys cached per keyed operator subtask on the FASTER backend.</summary>
        public const int DefaultCachedKeys = 16_384;

        /// <summary>The heap backend.</summary>
        public static StateBackendOptions Heap { get; } = new();

        /// <summary>The FASTER backend.</summary>
        public static StateBackendOptions Faster(string? directory = null, long memoryBudgetBytes = DefaultMemoryBudgetBytes, int cachedKeys = DefaultCachedKeys)
            => new(StateBackendKind.Faster, directory, memoryBudgetBytes, cachedKeys);

        /// <summary>Checks the settings; throws <see cref="ArgumentException"/> naming the bad one.</summary>
        internal void Validate()
        {
            if (Kind != StateBackendKind.Faster)
            {
                return;
            }

            if (MemoryBudgetBytes < Weir.State.Faster.FasterBytesStore.MinimumMemoryBudgetBytes)
            {
                throw new ArgumentException(
                    $"The FASTER state backend needs a memory budget of at least {Weir.State.Faster.FasterBytesStore.MinimumMemoryBudgetBytes >> 20} MiB per subtask " +
                    $"(two 2 MiB log pages); got {MemoryBudgetBytes} bytes. Raise --state-memory.");
            }

            if (CachedKeys < 1)
            {
                throw new ArgumentException($"The FASTER state backend must cache at least one key per operator subtask; got {CachedKeys}. Raise --state-cached-keys.");
            }
        }

        /// <summary>The directory that holds the per-run directories.</summary>
        internal string RootDirectory => Path.GetFullPath(Directory ?? Path.Combine(Path.GetTempPath(), "weir-state"));
    }
}
