using System.Collections.Generic;
using Weir.Checkpointing.Storage;

namespace Weir.Checkpointing.Snapshots
{
    /// <summary>
    /// One piece of an operator's state on one subtask, as checkpoints see it: keyed state, a source
    /// reader's position, a sink's pending transactions, broadcast state. The subtask calls every
    /// member on its own processing thread, except <see cref="IStateSnapshot.Write"/>, which runs on a
    /// snapshot thread while the subtask goes on processing records.
    /// </summary>
    /// <remarks>
    /// Several pieces may belong to one operator (keyed state and broadcast state of one operator);
    /// their file names must then differ: each piece names its files with its own <see cref="StateKind"/>
    /// as prefix (<c>keyed</c>, <c>keyed.delta-3</c>, <c>source</c>, <c>sink</c>, ...).
    /// </remarks>
    public interface ICheckpointedState
    {
        /// <summary>The explicit ID of the operator this state belongs to.</summary>
        string OperatorId { get; }

        /// <summary>
        /// The prefix of this piece's file names within its operator, letters, digits and '-' only
        /// (e.g. <c>keyed</c>, <c>source</c>, <c>sink</c>, <c>broadcast</c>).
        /// </summary>
        string StateKind { get; }

        /// <summary>
        /// The synchronous phase, on the processing thread, at the barrier of
        /// <paramref name="checkpointId"/>: capture what the checkpoint must contain (copy on write,
        /// a version mark, a small copy), without serializing large state while records wait.
        /// </summary>
        IStateSnapshot Snapshot(long checkpointId);

        /// <summary>
        /// The synchronous phase for a checkpoint of the given <paramref name="kind"/>. A savepoint
        /// must be self-contained: state that checkpoints write incrementally writes a full copy into
        /// files of the savepoint alone and leaves its incremental chain as it was (a savepoint never
        /// becomes the base of later checkpoints). The default serves state without incremental files.
        /// </summary>
        IStateSnapshot Snapshot(long checkpointId, SnapshotKind kind) => Snapshot(checkpointId);

        /// <summary>
        /// Restores this piece from a checkpoint before the first record is processed. Called at
        /// most once, only when the checkpoint holds state of this operator (see
        /// <see cref="RestoredOperatorState.FilesOf"/> for this piece's files).
        /// </summary>
        void Restore(RestoredOperatorState state);

        /// <summary>
        /// Checkpoint <paramref name="checkpointId"/> is complete (its metadata is durable): commit
        /// what it covers (sinks), release what it no longer needs. A later ID implies the earlier
        /// ones (notifications can be skipped, as in Flink).
        /// </summary>
        void NotifyCheckpointComplete(long checkpointId);

        /// <summary>Checkpoint <paramref name="checkpointId"/> will never complete: forget what was captured for it.</summary>
        void NotifyCheckpointAborted(long checkpointId);

        /// <summary>
        /// Savepoint <paramref name="checkpointId"/>, taken while the job goes on (not by a stop), is
        /// complete: release what was captured for it, but commit nothing. As in Flink since 1.15, such a
        /// savepoint is never used for recovery, so side effects it committed would be repeated by a
        /// restart from the checkpoint before it; what it covers is committed by the next checkpoint,
        /// or by a restore from the savepoint. The default serves state without side effects.
        /// </summary>
        void NotifySavepointComplete(long checkpointId) => NotifyCheckpointComplete(checkpointId);
    }

    /// <summary>What a snapshot is taken for.</summary>
    public enum SnapshotKind
    {
        /// <summary>A checkpoint: owned by Weir, may be incremental, deleted by retention.</summary>
        Checkpoint,

        /// <summary>A savepoint: owned by the user, always full and self-contained, never deleted by Weir.</summary>
        Savepoint,
    }

    /// <summary>What <see cref="ICheckpointedState.Snapshot(long)"/> captured: the asynchronous phase writes it.</summary>
    public interface IStateSnapshot
    {
        /// <summary>
        /// Writes the captured state as files of the checkpoint (on a snapshot thread, concurrently
        /// with processing) and returns them; an incremental snapshot also returns, unchanged, the
        /// shared files of earlier checkpoints it still needs. Throws when the state cannot be
        /// written; the checkpoint is then declined.
        /// </summary>
        IReadOnlyList<SubtaskStateFile> Write(SnapshotOutput output);
    }

    /// <summary>A snapshot that needs no files (an empty or stateless piece).</summary>
    public sealed class EmptySnapshot : IStateSnapshot
    {
        /// <summary>The one instance.</summary>
        public static EmptySnapshot Instance { get; } = new();

        /// <inheritdoc/>
        public IReadOnlyList<SubtaskStateFile> Write(SnapshotOutput output) => [];
    }
}
