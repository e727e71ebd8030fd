using System;
using System.Buffers;

namespace Weir.State
{
    /// <summary>
    /// Turns one state value into bytes and back. State snapshots frame every value with its length,
    /// so an implementation need not be self-delimiting: <see cref="Deserialize"/> receives exactly
    /// the bytes <see cref="Serialize"/> wrote for that value.
    /// </summary>
    /// <typeparam name="T">The type of the values.</typeparam>
    public interface IStateSerializer<T>
    {
        /// <summary>Appends the bytes of <paramref name="value"/> to <paramref name="output"/>.</summary>
        void Serialize(in T value, IBufferWriter<byte> output);

        /// <summary>Reads a value back from all of <paramref name="input"/>.</summary>
        T Deserialize(ReadOnlySpan<byte> input);
    }
}
