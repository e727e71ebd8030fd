using Xunit;
using GeneratorHash = Weir.Generator.Helpers.StableHash;

namespace Weir.Generator.Tests;

/// <summary>
/// The operator hash is computed at build time by the generator and at run time by Weir.Runtime; both
/// must agree, and the values are part of the checkpoint format, so some are pinned.
/// </summary>
public sealed class OperatorHashTests
{
    [Theory]
    [InlineData("")]
    [InlineData("a")]
    [InlineData("lines")]
    [InlineData("running-counts")]
    [InlineData("Counts")]
    [InlineData("zählung")]
    [InlineData("日本語の演算子")]
    [InlineData("emoji-🚀")]
    [InlineData("tab\tand\nnewline")]
    public void GeneratorHashEqualsRuntimeHash(string id)
        => Assert.Equal(OperatorIds.Hash(id), GeneratorHash.OperatorHash(id));

    [Fact]
    public void FnvReferenceValues()
    {
        // FNV-1a 64: the empty input hashes to the offset basis; "a" is a published test vector.
        Assert.Equal(0xcbf29ce484222325UL, GeneratorHash.OperatorHash(string.Empty));
        Assert.Equal(0xaf63dc4c8601ec8cUL, GeneratorHash.OperatorHash("a"));
    }

    [Fact]
    public void PinnedValues()
    {
        // Part of the checkpoint format: a change here orphans every saved operator state.
        Assert.Equal(0x5ce3f9a9f1d5001cUL, GeneratorHash.OperatorHash("lines"));
        Assert.Equal(0x09e1b98122ffecb3UL, GeneratorHash.OperatorHash("running-counts"));
        Assert.Equal(0x28d93fc66e8128deUL, GeneratorHash.OperatorHash("zählung"));
    }
}
