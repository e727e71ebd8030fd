using System;
using System.Collections.Generic;
using System.Text.Json.Serialization;
using Weir.Execution;

namespace Weir.Checkpointing.Storage
{
    /// <summary>
    /// What a completed checkpoint holds: the content of its <c>_metadata</c> file (see
    /// docs/checkpoints.md). Every state file is named by a path relative to the job's checkpoint
    /// directory, so the directory can be moved or copied as a whole.
    /// </summary>
    public sealed record CheckpointMetadata
    {
        /// <summary>The version of this description's shape; readers refuse versions they do not know.</summary>
        public int FormatVersion { get; init; } = CheckpointMetadataFormat.CurrentVersion;

        /// <summary>The job the checkpoint belongs to.</summary>
        public required string JobName { get; init; }

        /// <summary>The checkpoint's ID: increasing within a job directory, also across restarts.</summary>
        public required long CheckpointId { get; init; }

        /// <summary>When the checkpoint was triggered.</summary>
        public required DateTimeOffset TriggerTime { get; init; }

        /// <summary>When every subtask had acknowledged and the metadata was written.</summary>
        public required DateTimeOffset CompletionTime { get; init; }

        /// <summary>The job's max parallelism (number of key groups) when the checkpoint was taken.</summary>
        public required int MaxParallelism { get; init; }

        /// <summary>The state of every stateful operator, ordered by operator ID (ordinal).</summary>
        public required IReadOnlyList<OperatorStateMetadata> Operators { get; init; }

        /// <summary>
        /// Whether this is a savepoint: full, self-contained, paths relative to the savepoint's own
        /// directory (docs/savepoints.md). Absent in checkpoints' metadata.
        /// </summary>
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
        public bool Savepoint { get; init; }

        /// <summary>
        /// The job's state manifest (canonical JSON, <c>Weir.State.Schema.StateManifest</c>) when this
        /// was taken: a restore compares it with the restoring job's before loading any state. Null
        /// in metadata written before manifests existed.
        /// </summary>
        public string? StateManifest { get; init; }
    }

    /// <summary>One operator's state in a checkpoint.</summary>
    public sealed record OperatorStateMetadata
    {
        /// <summary>The operator's explicit, stable ID (the key that matches state to operators on restore).</summary>
        public required string OperatorId { get; init; }

        /// <summary>The operator's parallelism when the checkpoint was taken.</summary>
        public required int Parallelism { get; init; }

        /// <summary>The state of each subtask, ordered by subtask index.</summary>
        public required IReadOnlyList<SubtaskStateMetadata> Subtasks { get; init; }
    }

    /// <summary>One operator subtask's state in a checkpoint.</summary>
    public sealed record SubtaskStateMetadata
    {
        /// <summary>The subtask's index, from 0.</summary>
        public required int SubtaskIndex { get; init; }

        /// <summary>The key groups whose keyed state the subtask's files hold; absent for non-keyed operators.</summary>
        public KeyGroupRange? KeyGroups { get; init; }

        /// <summary>The subtask's state files, each under a name the operator chose (e.g. "keyed", "operator").</summary>
        public required IReadOnlyList<SubtaskStateFile> Files { get; init; }
    }

    /// <summary>A named state file of a subtask.</summary>
    /// <param name="Name">What the file holds, as the operator names it.</param>
    /// <param name="File">Where the file is and how to verify it.</param>
    public sealed record SubtaskStateFile(string Name, StateFileReference File)
    {
        /// <summary>
        /// The one keyed state the file holds (a savepoint's keyed state is split per state name,
        /// docs/savepoints.md); null when the file holds every state of the operator (checkpoints,
        /// savepoints of metadata format 1). Metadata that uses it is written as format version 2.
        /// </summary>
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public string? StateName { get; init; }
    }

    /// <summary>AOT-safe JSON for checkpoint metadata (System.Text.Json source generation, no reflection).</summary>
    [JsonSourceGenerationOptions(
        PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
        WriteIndented = true,
        RespectRequiredConstructorParameters = true,
        RespectNullableAnnotations = true,
        Converters = [typeof(KeyGroupRangeJsonConverter), typeof(ChecksumJsonConverter)])]
    [JsonSerializable(typeof(CheckpointMetadata))]
    internal sealed partial class CheckpointMetadataJsonContext : JsonSerializerContext
    {
    }
}
