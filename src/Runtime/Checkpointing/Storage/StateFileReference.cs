namespace Weir.Checkpointing.Storage
{
    /// <summary>
    /// A committed state file as recorded in checkpoint metadata: where it is and what a reader must
    /// find there. <see cref="Path"/> is relative to the job's checkpoint directory (for example
    /// <c>chk-7/…</c> or <c>shared/…</c>), so a job directory can be moved as a whole.
    /// </summary>
    /// <param name="Path">The file, relative to the job's checkpoint directory.</param>
    /// <param name="StoredLength">The file's size in bytes, header and footer included.</param>
    /// <param name="UncompressedLength">The size of the state before compression.</param>
    /// <param name="Checksum">The XXH3-64 stored in the file's footer.</param>
    public sealed record StateFileReference(string Path, long StoredLength, long UncompressedLength, ulong Checksum);
}
