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

    [Fact]
    public void Primitives_and_enums_are_copied_as_the_bytes_MemoryPack_writes()
    {
        AssertSameAsMemoryPack(42L);
        AssertSameAsMemoryPack(-7);
        AssertSameAsMemoryPack(3.25);
        AssertSameAsMemoryPack(true);
        AssertSameAsMemoryPack('é');
        AssertSameAsMemoryPack((byte)200);
        AssertSameAsMemoryPack(DayOfWeek.Friday);
        AssertSameAsMemoryPack(12.5m);
        AssertSameAsMemoryPack((1L, 2L));
        AssertSameAsMemoryPack("text");
    }

    private static void AssertSameAsMemoryPack<T>(T value)
    {
        var written = new ArrayBufferWriter<byte>();
        MemoryPackStateSerializer<T>.Instance.Serialize(in value, written);
        Assert.Equal(MemoryPackSerializer.Serialize(value), written.WrittenSpan.ToArray());
        Assert.Equal(value, MemoryPackStateSerializer<T>.Instance.Deserialize(written.WrittenSpan));
    }

    private static void AssertRoundTrip<T>(T[] value)
    {
        var written = new ArrayBufferWriter<byte>();
        MemoryPackArrayStateSerializer<T>.Instance.Serialize(in value, written);
        Assert.Equal(MemoryPackSerializer.Serialize(value), written.WrittenSpan.ToArray());
        Assert.Equal(value, MemoryPackArrayStateSerializer<T>.Instance.Deserialize(written.WrittenSpan));
    }
}
