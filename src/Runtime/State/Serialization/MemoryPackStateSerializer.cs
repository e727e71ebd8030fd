using System;
using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
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

        // Primitives and enums: MemoryPack writes their little-endian bytes and nothing else, so
        // copying them directly gives the same bytes without a MemoryPack writer per value (the
        // FASTER backend serializes every value of a key each time the key leaves its cache).
        private static bool IsRawCopy => typeof(T).IsPrimitive || typeof(T).IsEnum;

        /// <inheritdoc/>
        public void Serialize(in T value, IBufferWriter<byte> output)
        {
            if (IsRawCopy && BitConverter.IsLittleEndian)
            {
                int size = Unsafe.SizeOf<T>();
                Unsafe.WriteUnaligned(ref MemoryMarshal.GetReference(output.GetSpan(size)), value);
                output.Advance(size);
                return;
            }

            MemoryPackSerializer.Serialize(output, in value);
        }

        /// <inheritdoc/>
        public T Deserialize(ReadOnlySpan<byte> input)
        {
            if (IsRawCopy && BitConverter.IsLittleEndian && input.Length == Unsafe.SizeOf<T>())
            {
                return Unsafe.ReadUnaligned<T>(ref MemoryMarshal.GetReference(input));
            }

            return MemoryPackSerializer.Deserialize<T>(input)!;
        }
    }
}

namespace Weir.State
{
    using System;
    using System.Buffers;
    using System.Diagnostics.CodeAnalysis;
    using MemoryPack;

    /// <summary>
    /// The <see cref="IStateSerializer{T}"/> of arrays (<c>byte[]</c>, <c>Rule[]</c>), backed by MemoryPack.
    /// </summary>
    /// <remarks>
    /// MemoryPack's <c>Serialize&lt;T&gt;</c>/<c>Deserialize&lt;T&gt;</c> ask the trimmer to keep all members of
    /// <c>T</c>; for an array type that includes <see cref="Array"/>'s dynamic-code members, which Native AOT
    /// reports as errors. Arrays are therefore written and read element-wise with MemoryPack's writer and
    /// reader (the same bytes <c>Serialize&lt;T[]&gt;</c> writes), which need only the element type's formatter;
    /// generated code picks this serializer for array types.
    /// </remarks>
    /// <typeparam name="TElement">The type of the array's elements.</typeparam>
    public sealed class MemoryPackArrayStateSerializer<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.All)] TElement> : IStateSerializer<TElement[]>
    {
        private MemoryPackArrayStateSerializer()
        {
        }

        /// <summary>The shared instance (the serializer holds no state).</summary>
        public static MemoryPackArrayStateSerializer<TElement> Instance { get; } = new();

        /// <inheritdoc/>
        public void Serialize(in TElement[] value, IBufferWriter<byte> output)
        {
            using MemoryPackWriterOptionalState state = MemoryPackWriterOptionalStatePool.Rent(MemoryPackSerializerOptions.Default);
            var writer = new MemoryPackWriter<IBufferWriter<byte>>(ref output, state);
            writer.WriteArray(value);
            writer.Flush();
        }

        /// <inheritdoc/>
        public TElement[] Deserialize(ReadOnlySpan<byte> input)
        {
            using MemoryPackReaderOptionalState state = MemoryPackReaderOptionalStatePool.Rent(MemoryPackSerializerOptions.Default);
            var reader = new MemoryPackReader(input, state);
            TElement[]? value = reader.ReadArray<TElement>()!;
            reader.Dispose();
            return value!;
        }
    }
}
