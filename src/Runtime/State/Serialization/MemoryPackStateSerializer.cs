using System;
using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using MemoryPack;

namespace Weir.State
{
    /// <summary>
    /// A <see cref="IStateSerializer{T}"/> backed by MemoryPack. It handles primitives, strings,
    /// arrays, common collections and types marked <c>[MemoryPackable]</c> (whose formatters
    /// MemoryPack's source generator writes, so nothing is generated at run time).
    /// </summary>
    /// <remarks>
    /// MemoryPack finds the formatter of a <c>[MemoryPackable]</c> type that has not been used yet by
    /// reflecting on the type, so its <c>Deserialize&lt;T&gt;</c> asks the trimmer to keep all of
    /// <typeparamref name="T"/>'s members, and so does this class. Name it with a concrete type
    /// (<c>MemoryPackStateSerializer&lt;Rule&gt;.Instance</c>), as generated code does, and the
    /// requirement is met; this is why states take their serializer as an argument rather than
    /// defaulting to this one for an open type parameter.
    /// </remarks>
    /// <typeparam name="T">The type of the values.</typeparam>
    public sealed class MemoryPackStateSerializer<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.All)] T> : IStateSerializer<T>
    {
        private MemoryPackStateSerializer()
        {
        }

        /// <summary>The shared instance (the serializer holds no state).</summary>
        public static MemoryPackStateSerializer<T> Instance { get; } = new();

        /// <inheritdoc/>
        public void Serialize(in T value, IBufferWriter<byte> output)
            => MemoryPackSerializer.Serialize(output, in value);

        /// <inheritdoc/>
        public T Deserialize(ReadOnlySpan<byte> input)
            => MemoryPackSerializer.Deserialize<T>(input)!;
    }
}
