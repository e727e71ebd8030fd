using System;
using System.Runtime.CompilerServices;

namespace Weir.Execution
{
    /// <summary>What a batch carries through an exchange.</summary>
    public enum BatchKind
    {
        /// <summary>Records.</summary>
        Data,

        /// <summary>The sender has no more records (its input ended or the job is stopping).</summary>
        EndOfInput,
    }

    /// <summary>
    /// A reusable array of records sent through an exchange. Batches are pooled per receiving gate, so
    /// in steady state an exchange allocates nothing.
    /// </summary>
    public sealed class Batch<T>
    {
        internal Batch(int capacity) => Items = new T[capacity];

        /// <summary>The records; the first <see cref="Count"/> are valid.</summary>
        internal readonly T[] Items;

        /// <summary>Number of valid records.</summary>
        internal int Count;

        /// <summary>Data or a control marker.</summary>
        internal BatchKind Kind;

        /// <summary>The sending subtask's channel number at the receiving gate (for alignment).</summary>
        internal int Channel;

        internal ReadOnlySpan<T> Records => new(Items, 0, Count);

        internal void Reset()
        {
            if (RuntimeHelpers.IsReferenceOrContainsReferences<T>())
            {
                Array.Clear(Items, 0, Count);
            }

            Count = 0;
            Kind = BatchKind.Data;
        }
    }
}
