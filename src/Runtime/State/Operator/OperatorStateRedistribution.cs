using System;
using System.Collections.Generic;

namespace Weir.State
{
    /// <summary>
    /// Flink's rules (RoundRobinOperatorStateRepartitioner) for handing operator state, snapshotted
    /// per subtask, to the subtasks of a restored run whose parallelism may differ. They are pure:
    /// inputs are never modified and every returned list is a new array.
    /// <list type="bullet">
    /// <item><b>Even split</b> (<see cref="OperatorListState{T}"/>): at an unchanged parallelism every
    /// subtask keeps its own list. Otherwise the old lists are concatenated in subtask order and cut
    /// into contiguous chunks, one per new subtask in order, whose sizes differ by at most one: with
    /// <c>n</c> entries and <c>p</c> new subtasks the first <c>n % p</c> subtasks get
    /// <c>n / p + 1</c> entries and the rest <c>n / p</c>. (Flink hands the larger chunks to the
    /// lowest subtasks for an operator's first list state and rotates that start across its further
    /// states; Weir redistributes each state on its own.)</item>
    /// <item><b>Union</b> (<see cref="UnionListState{T}"/>): every new subtask receives the
    /// concatenation of all old lists in subtask order, also at an unchanged parallelism.</item>
    /// <item><b>Broadcast</b> (<see cref="BroadcastState{TKey, TValue}"/>): new subtask <c>i</c> takes
    /// the state of old subtask <c>i % oldParallelism</c>. Every copy is identical, so this only
    /// spreads the reading of snapshots across the old copies.</item>
    /// </list>
    /// </summary>
    public static class OperatorStateRedistribution
    {
        /// <summary>Every new subtask's list under the even-split rule.</summary>
        /// <param name="oldPerSubtask">Each old subtask's list, in subtask order.</param>
        /// <param name="newParallelism">The number of new subtasks.</param>
        public static T[][] SplitEvenly<T>(IReadOnlyList<T[]> oldPerSubtask, int newParallelism)
        {
            Validate(oldPerSubtask, newParallelism);
            var shares = new T[newParallelism][];
            for (int subtask = 0; subtask < newParallelism; subtask++)
            {
                shares[subtask] = SplitEvenlyShare(oldPerSubtask, newParallelism, subtask);
            }

            return shares;
        }

        /// <summary>One new subtask's list under the even-split rule.</summary>
        /// <param name="oldPerSubtask">Each old subtask's list, in subtask order.</param>
        /// <param name="newParallelism">The number of new subtasks.</param>
        /// <param name="subtaskIndex">The new subtask whose share is wanted.</param>
        public static T[] SplitEvenlyShare<T>(IReadOnlyList<T[]> oldPerSubtask, int newParallelism, int subtaskIndex)
        {
            Validate(oldPerSubtask, newParallelism);
            ValidateSubtask(subtaskIndex, newParallelism);
            if (oldPerSubtask.Count == newParallelism)
            {
                return (T[])oldPerSubtask[subtaskIndex].Clone();
            }

            (long start, int length) = EvenChunk(TotalCount(oldPerSubtask), newParallelism, subtaskIndex);
            var share = new T[length];
            int copied = 0;
            long listStart = 0;
            for (int i = 0; i < oldPerSubtask.Count && copied < length; i++)
            {
                T[] list = oldPerSubtask[i];
                long listEnd = listStart + list.Length;
                long from = start + copied;
                if (from < listEnd)
                {
                    int offset = (int)(from - listStart);
                    int take = Math.Min(list.Length - offset, length - copied);
                    Array.Copy(list, offset, share, copied, take);
                    copied += take;
                }

                listStart = listEnd;
            }

            return share;
        }

        /// <summary>Every new subtask's list under the union rule (each a separate array).</summary>
        /// <param name="oldPerSubtask">Each old subtask's list, in subtask order.</param>
        /// <param name="newParallelism">The number of new subtasks.</param>
        public static T[][] Union<T>(IReadOnlyList<T[]> oldPerSubtask, int newParallelism)
        {
            Validate(oldPerSubtask, newParallelism);
            var shares = new T[newParallelism][];
            for (int subtask = 0; subtask < newParallelism; subtask++)
            {
                shares[subtask] = UnionShare(oldPerSubtask);
            }

            return shares;
        }

        /// <summary>Any new subtask's list under the union rule: all old lists concatenated in subtask order.</summary>
        /// <param name="oldPerSubtask">Each old subtask's list, in subtask order.</param>
        public static T[] UnionShare<T>(IReadOnlyList<T[]> oldPerSubtask)
        {
            Validate(oldPerSubtask, newParallelism: 1);
            long total = TotalCount(oldPerSubtask);
            if (total > Array.MaxLength)
            {
                throw new InvalidOperationException($"The union of the old subtasks' lists has {total} entries, more than an array can hold.");
            }

            var union = new T[total];
            int next = 0;
            for (int i = 0; i < oldPerSubtask.Count; i++)
            {
                T[] list = oldPerSubtask[i];
                Array.Copy(list, 0, union, next, list.Length);
                next += list.Length;
            }

            return union;
        }

        /// <summary>
        /// Every new subtask's state under the broadcast rule. The states are handed on, not copied:
        /// a state restored from one must copy what it keeps.
        /// </summary>
        /// <param name="oldPerSubtask">Each old subtask's state (or its snapshot), in subtask order.</param>
        /// <param name="newParallelism">The number of new subtasks.</param>
        public static TState[] Broadcast<TState>(IReadOnlyList<TState> oldPerSubtask, int newParallelism)
        {
            ArgumentNullException.ThrowIfNull(oldPerSubtask);
            ValidateCounts(oldPerSubtask.Count, newParallelism);
            var shares = new TState[newParallelism];
            for (int subtask = 0; subtask < newParallelism; subtask++)
            {
                shares[subtask] = oldPerSubtask[BroadcastSource(subtask, oldPerSubtask.Count)];
            }

            return shares;
        }

        /// <summary>The old subtask whose broadcast state new subtask <paramref name="subtaskIndex"/> takes.</summary>
        public static int BroadcastSource(int subtaskIndex, int oldParallelism)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(subtaskIndex);
            ArgumentOutOfRangeException.ThrowIfLessThan(oldParallelism, 1);
            return subtaskIndex % oldParallelism;
        }

        /// <summary>The contiguous chunk of <paramref name="total"/> entries that part <paramref name="index"/> of <paramref name="parts"/> receives.</summary>
        internal static (long Start, int Length) EvenChunk(long total, int parts, int index)
        {
            long baseSize = total / parts;
            long remainder = total % parts;
            long start = (index * baseSize) + Math.Min(index, remainder);
            long length = baseSize + (index < remainder ? 1 : 0);
            if (length > Array.MaxLength)
            {
                throw new InvalidOperationException($"A subtask's share of {total} list entries would hold {length} entries, more than an array can hold.");
            }

            return (start, (int)length);
        }

        private static long TotalCount<T>(IReadOnlyList<T[]> lists)
        {
            long total = 0;
            for (int i = 0; i < lists.Count; i++)
            {
                total += lists[i].Length;
            }

            return total;
        }

        private static void Validate<T>(IReadOnlyList<T[]> oldPerSubtask, int newParallelism)
        {
            ArgumentNullException.ThrowIfNull(oldPerSubtask);
            ValidateCounts(oldPerSubtask.Count, newParallelism);
            for (int i = 0; i < oldPerSubtask.Count; i++)
            {
                if (oldPerSubtask[i] is null)
                {
                    throw new ArgumentException($"The list of old subtask {i} is null; an empty subtask has an empty list.", nameof(oldPerSubtask));
                }
            }
        }

        private static void ValidateCounts(int oldParallelism, int newParallelism)
        {
            if (oldParallelism == 0)
            {
                throw new ArgumentException("Redistribution needs the state of at least one old subtask.", "oldPerSubtask");
            }

            ArgumentOutOfRangeException.ThrowIfLessThan(newParallelism, 1);
        }

        private static void ValidateSubtask(int subtaskIndex, int newParallelism)
        {
            if ((uint)subtaskIndex >= (uint)newParallelism)
            {
                throw new ArgumentOutOfRangeException(nameof(subtaskIndex), subtaskIndex, $"A subtask index must be in [0, {newParallelism}).");
            }
        }
    }
}
