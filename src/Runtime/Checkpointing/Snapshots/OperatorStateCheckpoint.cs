using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Weir.Checkpointing.Storage;
using Weir.State;

namespace Weir.Checkpointing.Snapshots
{
    /// <summary>
    /// Checkpoints a group of operator states (list, union list, broadcast) of one operator subtask
    /// as one file. Operator state is small by nature (offsets, pending transactions, rules), so, as
    /// in Flink, the synchronous phase copies each state's snapshot bytes into memory and the
    /// asynchronous phase only writes them out. On restore each state takes its share of every old
    /// subtask's snapshot by its own redistribution rule.
    /// </summary>
    /// <remarks>
    /// File layout (inside the compressed, checksummed state file): <c>int32</c> state count, then per
    /// state its UTF-8 name framed by an <c>int32</c> length and its snapshot bytes framed the same way
    /// (all little-endian).
    /// </remarks>
    public sealed class OperatorStateCheckpoint : ICheckpointedState
    {
        private readonly Func<IReadOnlyList<OperatorState>> _states;
        private readonly Action? _restored;

        /// <summary>Creates the checkpointed view of an operator's states.</summary>
        /// <param name="operatorId">The operator.</param>
        /// <param name="stateKind">This piece's file name within the operator (e.g. <c>broadcast</c>).</param>
        /// <param name="states">
        /// The states, asked for at each snapshot (on the processing thread, so an owner can bring them
        /// up to date first) and at restore (states may be declared late).
        /// </param>
        /// <param name="restored">Called after the states were restored, so their owner can take their contents up.</param>
        public OperatorStateCheckpoint(string operatorId, string stateKind, Func<IReadOnlyList<OperatorState>> states, Action? restored = null)
        {
            OperatorId = operatorId;
            StateKind = stateKind;
            _states = states;
            _restored = restored;
        }

        /// <inheritdoc/>
        public string OperatorId { get; }

        /// <inheritdoc/>
        public string StateKind { get; }

        /// <inheritdoc/>
        public IStateSnapshot Snapshot(long checkpointId)
        {
            IReadOnlyList<OperatorState> states = _states();
            if (states.Count == 0)
            {
                return EmptySnapshot.Instance;
            }

            var buffer = new ArrayBufferWriter<byte>();
            WriteInt32(buffer, states.Count);
            foreach (OperatorState state in states)
            {
                WriteFramed(buffer, Encoding.UTF8.GetBytes(state.Name));
                var bytes = new ArrayBufferWriter<byte>();
                state.WriteSnapshot(bytes);
                WriteFramed(buffer, bytes.WrittenSpan);
            }

            return new Captured(StateKind, buffer.WrittenMemory);
        }

        /// <inheritdoc/>
        public void Restore(RestoredOperatorState state)
        {
            // Per state name, every old subtask's bytes in subtask order (an old subtask without the
            // state contributes an empty snapshot of it only if it wrote one).
            var byName = new Dictionary<string, List<ReadOnlyMemory<byte>>>(StringComparer.Ordinal);
            foreach (SubtaskStateMetadata old in state.OldSubtasks)
            {
                foreach (SubtaskStateFile file in state.FilesOf(old, StateKind))
                {
                    foreach ((string name, ReadOnlyMemory<byte> bytes) in Read(state, file))
                    {
                        if (!byName.TryGetValue(name, out List<ReadOnlyMemory<byte>>? list))
                        {
                            byName[name] = list = new List<ReadOnlyMemory<byte>>();
                        }

                        list.Add(bytes);
                    }
                }
            }

            foreach (OperatorState own in _states())
            {
                if (byName.TryGetValue(own.Name, out List<ReadOnlyMemory<byte>>? snapshots))
                {
                    own.RestoreRedistributed(snapshots, state.SubtaskIndex, state.Parallelism);
                }
            }

            _restored?.Invoke();
        }

        /// <inheritdoc/>
        public void NotifyCheckpointComplete(long checkpointId)
        {
        }

        /// <inheritdoc/>
        public void NotifyCheckpointAborted(long checkpointId)
        {
        }

        private static IEnumerable<(string Name, ReadOnlyMemory<byte> Bytes)> Read(RestoredOperatorState state, SubtaskStateFile file)
        {
            byte[] content;
            using (Stream stream = state.Open(file.File))
            using (var copy = new MemoryStream())
            {
                stream.CopyTo(copy);
                content = copy.ToArray();
            }

            var result = new List<(string, ReadOnlyMemory<byte>)>();
            int position = 0;
            int count = ReadInt32(content, ref position, file);
            for (int i = 0; i < count; i++)
            {
                string name = Encoding.UTF8.GetString(ReadFramed(content, ref position, file).Span);
                result.Add((name, ReadFramed(content, ref position, file)));
            }

            return result;
        }

        private static int ReadInt32(byte[] content, ref int position, SubtaskStateFile file)
        {
            if (content.Length - position < 4)
            {
                throw new CheckpointCorruptException(file.File.Path, CheckpointCorruption.UndecodableBody, "the operator state ends in the middle of a length field.");
            }

            int value = BinaryPrimitives.ReadInt32LittleEndian(content.AsSpan(position));
            position += 4;
            return value;
        }

        private static ReadOnlyMemory<byte> ReadFramed(byte[] content, ref int position, SubtaskStateFile file)
        {
            int length = ReadInt32(content, ref position, file);
            if (length < 0 || content.Length - position < length)
            {
                throw new CheckpointCorruptException(file.File.Path, CheckpointCorruption.UndecodableBody, $"an operator state entry claims {length} bytes, but {content.Length - position} remain.");
            }

            var bytes = new ReadOnlyMemory<byte>(content, position, length);
            position += length;
            return bytes;
        }

        private static void WriteInt32(IBufferWriter<byte> output, int value)
        {
            BinaryPrimitives.WriteInt32LittleEndian(output.GetSpan(4), value);
            output.Advance(4);
        }

        private static void WriteFramed(IBufferWriter<byte> output, ReadOnlySpan<byte> bytes)
        {
            WriteInt32(output, bytes.Length);
            output.Write(bytes);
        }

        private sealed class Captured(string name, ReadOnlyMemory<byte> bytes) : IStateSnapshot
        {
            public IReadOnlyList<SubtaskStateFile> Write(SnapshotOutput output)
            {
                using StateFileWriter file = output.CreateExclusiveFile(name);
                file.Stream.Write(bytes.Span);
                return [new SubtaskStateFile(name, file.Commit())];
            }
        }
    }
}
