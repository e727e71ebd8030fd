using System;
using System.Buffers;
using MemoryPack;
using Weir.State;
using Xunit;

namespace Weir.Runtime.Tests;

public sealed class StateSerializerTests
{
    [Fact]
    public void The_array_serializer_writes_what_MemoryPack_writes_and_reads_it_back()
    {
        string[] strings = { "a", "", "längere Zeichenkette", null! };
        long[] longs = { 1, -2, long.MaxValue };
        AssertRoundTrip(strings);
        AssertRoundTrip(longs);
        AssertRoundTrip(Array.Empty<long>());
        AssertRoundTrip<string>(null!);
    }

    private static void AssertRoundTrip<T>(T[] value)
    {
        var written = new ArrayBufferWriter<byte>();
        MemoryPackArrayStateSerializer<T>.Instance.Serialize(in value, written);
        Assert.Equal(MemoryPackSerializer.Serialize(value), written.WrittenSpan.ToArray());
        Assert.Equal(value, MemoryPackArrayStateSerializer<T>.Instance.Deserialize(written.WrittenSpan));
    }
}
