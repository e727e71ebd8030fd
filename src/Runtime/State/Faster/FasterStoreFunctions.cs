using System;
using System.Buffers;
using FASTER.core;

namespace Weir.State.Faster
{
    /// <summary>
    /// Where a read puts the value it finds: the caller's buffer writer, or nowhere when the read only
    /// asks whether (and where) the key's latest record is.
    /// </summary>
    internal readonly struct ValueSink
    {
        private readonly IBufferWriter<byte>? _destination;

        internal ValueSink(IBufferWriter<byte> destination) => _destination = destination;

        internal void Write(ReadOnlySpan<byte> value)
        {
            if (_destination is null)
            {
                return;
            }

            value.CopyTo(_destination.GetSpan(value.Length));
            _destination.Advance(value.Length);
        }
    }

    /// <summary>
    /// FASTER callbacks of a <see cref="FasterBytesStore"/>. Writers and deleters are FASTER's own SpanByte
    /// ones (a tombstone must not touch the value it has no room for); reads copy straight into the
    /// caller's writer, also when FASTER completes a read from disk, so no output buffer is needed.
    /// </summary>
    internal sealed class FasterStoreFunctions : SpanByteFunctions<SpanByte, ValueSink, Empty>
    {
        /// <summary>Status of the read that <c>CompletePending</c> last finished (the store has one read in flight at most).</summary>
        internal Status CompletedReadStatus;

        /// <summary>Address and header of the record that read found.</summary>
        internal RecordMetadata CompletedReadRecord;

        public override bool SingleReader(ref SpanByte key, ref SpanByte input, ref SpanByte value, ref ValueSink dst, ref ReadInfo readInfo)
        {
            dst.Write(value.AsReadOnlySpan());
            return true;
        }

        public override bool ConcurrentReader(ref SpanByte key, ref SpanByte input, ref SpanByte value, ref ValueSink dst, ref ReadInfo readInfo)
        {
            dst.Write(value.AsReadOnlySpan());
            return true;
        }

        /// <summary>
        /// Overwrites in place only at the same length, so a record's length header always matches the
        /// space it was given (log scans find the next record from it); a value of another length goes to
        /// a new record at the tail. Weir's values mostly keep their size, so this rarely costs a copy.
        /// </summary>
        public override bool ConcurrentWriter(ref SpanByte key, ref SpanByte input, ref SpanByte src, ref SpanByte dst, ref ValueSink output, ref UpsertInfo upsertInfo)
        {
            if (dst.Length != src.Length)
            {
                return false;
            }

            src.CopyTo(ref dst);
            return true;
        }

        public override void ReadCompletionCallback(ref SpanByte key, ref SpanByte input, ref ValueSink output, Empty ctx, Status status, RecordMetadata recordMetadata)
        {
            CompletedReadStatus = status;
            CompletedReadRecord = recordMetadata;
        }
    }
}
