using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using Weir.Checkpointing.Snapshots;
using Weir.State;

namespace Weir.Connectors
{
    /// <summary>
    /// The base of an exactly-once sink writer for a system with transactions (Flink's
    /// TwoPhaseCommitSinkFunction). Records go into the current transaction; at each checkpoint's
    /// barrier the transaction is pre-committed and a new one begun; when the checkpoint completes,
    /// every transaction pre-committed for it or before is committed. The pre-committed, not yet
    /// committed transactions are the writer's checkpointed state (kind <c>sink</c>), so a restore
    /// commits those of the restored checkpoint and aborts what a failed attempt left open.
    /// </summary>
    /// <remarks>
    /// <para><b>Rules for implementations.</b></para>
    /// <list type="bullet">
    /// <item><see cref="Write"/> is the hot path. Override it in a <c>sealed</c> class: the
    /// generated subtask keeps the writer in a field of the concrete type (the
    /// <c>TWriter</c> of <see cref="ISink{T, TWriter}"/>) and calls <c>writer.Write(in record)</c>,
    /// which the JIT then binds directly (and can inline) instead of dispatching virtually. Write
    /// into the current transaction's own buffers; the base is not involved per record.</item>
    /// <item><see cref="PreCommit"/> must make the transaction's data durable in the external system
    /// such that a later <see cref="Commit"/> cannot fail for lack of it (flush, fsync, close).</item>
    /// <item><see cref="Commit"/> must be idempotent: it is called again for the same transaction
    /// after a failure (recover-and-commit on restore, possibly more than once when a job restores
    /// the same checkpoint twice), possibly by another subtask or attempt, and must then succeed
    /// without duplicating data. It runs on the processing thread and gets only the handle.</item>
    /// <item><see cref="Abort"/> must be idempotent and tolerate a transaction that no longer has
    /// data (already aborted, never written).</item>
    /// <item>The transaction handle is what the checkpoint stores, through the serializer given to
    /// the constructor: it must name the transaction durably (file names, a transaction ID), not
    /// hold open resources. Keep open resources (streams, connections) in the writer.</item>
    /// <item>Transactions begun by this attempt must be told apart from a failed attempt's, so
    /// that <see cref="AbortLeftovers"/> can clean up after a crash without touching new work:
    /// name them with <see cref="CheckpointParticipation.AttemptId"/>.</item>
    /// <item>Call <see cref="Start"/> at the end of the derived constructor: it registers the state
    /// and begins the first transaction (which therefore can begin before a restore).</item>
    /// </list>
    /// <para><b>Without checkpoints</b> (<see cref="SinkContext.Checkpoints"/> null) there is one
    /// transaction per subtask: <see cref="Finish"/> pre-commits and commits it at the end of input.
    /// <b>Under checkpoints</b>, <see cref="Finish"/> only pre-commits the last transaction (if it
    /// holds records): the final checkpoint taken after all input assigns it and its completion
    /// commits it. Disposing a writer aborts the open transaction (never one pre-committed).</para>
    /// <para><b>Rescaling.</b> The pending list is union list state: every new subtask sees every
    /// old subtask's transactions, handles those of old subtasks <c>i</c> with
    /// <c>i % parallelism == its index</c>, and passes all of them to <see cref="AbortLeftovers"/> as
    /// referenced, so each transaction is committed or aborted by exactly one new subtask and no
    /// subtask deletes what another is about to commit.</para>
    /// </remarks>
    /// <typeparam name="T">The records.</typeparam>
    /// <typeparam name="TTransaction">The transaction handle kept in checkpoints.</typeparam>
    public abstract class TwoPhaseCommitSinkWriter<T, TTransaction> : ISinkWriter<T>, ICheckpointedState
    {
        /// <summary>The state kind of the pending transactions.</summary>
        public const string SinkStateKind = "sink";

        private readonly UnionListState<TransactionEntry<TTransaction>>? _state;
        private readonly List<(long CheckpointId, TTransaction Transaction)> _pending = [];
        private readonly List<TTransaction> _awaitingCheckpoint = [];
        private TTransaction _current = default!;
        private bool _hasCurrent;
        private bool _finished;
        private bool _started;

        /// <summary>Creates the writer of one subtask.</summary>
        /// <param name="context">Where it runs; under checkpoints it registers its state there.</param>
        /// <param name="transactionSerializer">Writes transaction handles into checkpoints.</param>
        protected TwoPhaseCommitSinkWriter(SinkContext context, IStateSerializer<TTransaction> transactionSerializer)
        {
            ArgumentNullException.ThrowIfNull(context);
            ArgumentNullException.ThrowIfNull(transactionSerializer);
            Context = context;
            if (context.Checkpoints is not null)
            {
                _state = new UnionListState<TransactionEntry<TTransaction>>("transactions", new TransactionEntrySerializer<TTransaction>(transactionSerializer));
            }
        }

        /// <summary>Where the writer runs.</summary>
        protected SinkContext Context { get; }

        /// <summary>True when the job checkpoints (transactions follow checkpoints).</summary>
        protected bool IsCheckpointed => _state is not null;

        /// <summary>The transaction records go to; valid while <see cref="HasCurrentTransaction"/>.</summary>
        protected TTransaction CurrentTransaction => _current;

        /// <summary>True while a transaction is open (false after <see cref="Finish"/>).</summary>
        protected bool HasCurrentTransaction => _hasCurrent;

        /// <summary>Transactions pre-committed and not committed yet, with the checkpoint that covers them (-1: the next one).</summary>
        public IReadOnlyList<(long CheckpointId, TTransaction Transaction)> PendingTransactions
        {
            get
            {
                var all = new List<(long, TTransaction)>(_pending);
                foreach (TTransaction waiting in _awaitingCheckpoint)
                {
                    all.Add((-1, waiting));
                }

                return all;
            }
        }

        string ICheckpointedState.OperatorId => Context.OperatorId;

        string ICheckpointedState.StateKind => SinkStateKind;

        /// <summary>Writes one record into the current transaction (hot path; see the remarks).</summary>
        public abstract void Write(in T record);

        /// <summary>Pushes buffered records into the current transaction (the subtask is idle).</summary>
        public abstract void Flush();

        /// <summary>
        /// All input has been written. Without checkpoints: pre-commits and commits the transaction.
        /// Under checkpoints: pre-commits it (or aborts it when empty) for the final checkpoint to commit.
        /// </summary>
        public void Finish()
        {
            _finished = true;
            if (!_hasCurrent)
            {
                return;
            }

            TTransaction last = _current;
            _hasCurrent = false;
            _current = default!;
            if (!IsCheckpointed)
            {
                PreCommit(last);
                Commit(last);
            }
            else if (IsEmpty(last))
            {
                Abort(last);
            }
            else
            {
                PreCommit(last);
                _awaitingCheckpoint.Add(last);
            }
        }

        /// <summary>Aborts the open transaction, if any (pre-committed ones stay for recovery), and releases resources.</summary>
        public void Dispose()
        {
            try
            {
                if (_hasCurrent)
                {
                    _hasCurrent = false;
                    Abort(_current);
                    _current = default!;
                }
            }
            finally
            {
                Dispose(disposing: true);
                GC.SuppressFinalize(this);
            }
        }

        IStateSnapshot ICheckpointedState.Snapshot(long checkpointId)
        {
            UnionListState<TransactionEntry<TTransaction>> state = _state ?? throw NotCheckpointed();
            if (_hasCurrent && !IsEmpty(_current))
            {
                TTransaction committed = _current;
                _hasCurrent = false;
                PreCommit(committed);
                _pending.Add((checkpointId, committed));
                if (!_finished)
                {
                    BeginNext();
                }
            }

            foreach (TTransaction waiting in _awaitingCheckpoint)
            {
                _pending.Add((checkpointId, waiting));
            }

            _awaitingCheckpoint.Clear();
            state.Clear();
            int subtask = Context.SubtaskIndex;
            foreach ((long id, TTransaction transaction) in _pending)
            {
                state.Add(new TransactionEntry<TTransaction>(id, subtask, IsOpen: false, transaction));
            }

            if (_hasCurrent)
            {
                state.Add(new TransactionEntry<TTransaction>(-1, subtask, IsOpen: true, _current));
            }

            return ConnectorState.Capture(state, SinkStateKind);
        }

        void ICheckpointedState.Restore(RestoredOperatorState restored)
        {
            UnionListState<TransactionEntry<TTransaction>> state = _state ?? throw NotCheckpointed();
            ConnectorState.Restore(state, restored, SinkStateKind);
            TransactionEntry<TTransaction>[] entries = state.Items.ToArray();
            state.Clear();
            var referenced = new List<TTransaction>(entries.Length);
            foreach (TransactionEntry<TTransaction> entry in entries)
            {
                referenced.Add(entry.Transaction);
            }

            // The restored checkpoint is complete, so everything pre-committed in it is committed
            // now; what was still open when it was taken is aborted. Each entry by one new subtask.
            foreach (TransactionEntry<TTransaction> entry in entries)
            {
                if (entry.Subtask % restored.Parallelism != restored.SubtaskIndex)
                {
                    continue;
                }

                if (entry.IsOpen)
                {
                    RecoverAndAbort(entry.Transaction);
                }
                else
                {
                    RecoverAndCommit(entry.Transaction);
                }
            }

            AbortLeftovers(referenced);
        }

        void ICheckpointedState.NotifyCheckpointComplete(long checkpointId)
        {
            int committed = 0;
            try
            {
                foreach ((long id, TTransaction transaction) in _pending)
                {
                    if (id > checkpointId)
                    {
                        break;
                    }

                    Commit(transaction);
                    committed++;
                }
            }
            finally
            {
                _pending.RemoveRange(0, committed);
            }
        }

        void ICheckpointedState.NotifyCheckpointAborted(long checkpointId)
        {
            // Transactions pre-committed for an aborted checkpoint stay pending: the next checkpoint
            // snapshots them again and its completion commits them.
        }

        void ICheckpointedState.NotifySavepointComplete(long checkpointId)
        {
            // Not committed: the transactions stay pending, the next checkpoint snapshots them again and
            // its completion commits them (a restart from an older checkpoint aborts them and writes
            // the same records again, once). A restore from the savepoint commits them.
        }

        /// <summary>Registers the state (under checkpoints) and begins the first transaction; call it last in the derived constructor.</summary>
        protected void Start()
        {
            if (_started)
            {
                throw new InvalidOperationException("Start was already called.");
            }

            _started = true;
            Context.Checkpoints?.Register(this);
            BeginNext();
        }

        /// <summary>Begins a transaction and returns its handle; records written next go to it.</summary>
        protected abstract TTransaction BeginTransaction();

        /// <summary>Makes the transaction's records durable, ready to commit; no record is written to it afterwards.</summary>
        protected abstract void PreCommit(TTransaction transaction);

        /// <summary>Makes a pre-committed transaction visible. Idempotent (see the remarks).</summary>
        protected abstract void Commit(TTransaction transaction);

        /// <summary>Discards a transaction. Idempotent; the transaction may be open or have no data left.</summary>
        protected abstract void Abort(TTransaction transaction);

        /// <summary>Commits a pre-committed transaction of an earlier attempt found in the restored checkpoint (by default <see cref="Commit"/>).</summary>
        protected virtual void RecoverAndCommit(TTransaction transaction) => Commit(transaction);

        /// <summary>Aborts a transaction an earlier attempt had open at the restored checkpoint (by default <see cref="Abort"/>).</summary>
        protected virtual void RecoverAndAbort(TTransaction transaction) => Abort(transaction);

        /// <summary>
        /// After a restore: discard what failed attempts left that no restored state references (a
        /// transaction begun after the restored checkpoint), sharing the work with the other new
        /// subtasks so each leftover is handled once, and never touching this attempt's transactions.
        /// <paramref name="referenced"/> holds every transaction of the restored checkpoint, of all
        /// old subtasks (another subtask may be committing it). Nothing by default.
        /// </summary>
        protected virtual void AbortLeftovers(IReadOnlyCollection<TTransaction> referenced)
        {
        }

        /// <summary>True when the current transaction holds no records: a checkpoint then keeps it open rather than pre-committing an empty one.</summary>
        protected virtual bool IsEmpty(TTransaction transaction) => false;

        /// <summary>Releases the writer's resources (called by <see cref="Dispose()"/> after the open transaction is aborted).</summary>
        protected virtual void Dispose(bool disposing)
        {
        }

        private void BeginNext()
        {
            _current = BeginTransaction();
            _hasCurrent = true;
        }

        private InvalidOperationException NotCheckpointed()
            => new($"Sink '{Context.OperatorId}' subtask {Context.SubtaskIndex} was created without checkpoints and has no checkpointed state.");
    }

    /// <summary>A transaction handle in a two-phase-commit sink's checkpointed state.</summary>
    internal readonly record struct TransactionEntry<TTransaction>(long CheckpointId, int Subtask, bool IsOpen, TTransaction Transaction);

    /// <summary>Checkpoint ID, subtask and open flag little-endian, then the handle's own bytes.</summary>
    internal sealed class TransactionEntrySerializer<TTransaction>(IStateSerializer<TTransaction> inner) : IStateSerializer<TransactionEntry<TTransaction>>
    {
        private const int HeaderSize = 13;

        public void Serialize(in TransactionEntry<TTransaction> value, IBufferWriter<byte> output)
        {
            Span<byte> header = output.GetSpan(HeaderSize);
            BinaryPrimitives.WriteInt64LittleEndian(header, value.CheckpointId);
            BinaryPrimitives.WriteInt32LittleEndian(header[8..], value.Subtask);
            header[12] = value.IsOpen ? (byte)1 : (byte)0;
            output.Advance(HeaderSize);
            inner.Serialize(value.Transaction, output);
        }

        public TransactionEntry<TTransaction> Deserialize(ReadOnlySpan<byte> input)
        {
            if (input.Length < HeaderSize || input[12] > 1)
            {
                throw new InvalidDataException($"A pending transaction in a checkpoint is {input.Length} bytes, not a valid entry.");
            }

            return new TransactionEntry<TTransaction>(
                BinaryPrimitives.ReadInt64LittleEndian(input),
                BinaryPrimitives.ReadInt32LittleEndian(input[8..]),
                input[12] == 1,
                inner.Deserialize(input[HeaderSize..]));
        }
    }
}
