using System;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace Weir.Hosting.Inspection
{
    /// <summary>
    /// Decodes the list entries of the built-in connectors' operator state by their layout: a text
    /// source's split (offsets, then the UTF-8 path), a generator source's index range, a write-ahead
    /// log sink's batch, a two-phase-commit sink's pending transaction. Entries of other layouts are
    /// written as guessed by <see cref="StateValueDecoder.WriteGuessed"/>.
    /// </summary>
    internal static class ConnectorStateDecoder
    {
        private const int TextSplitHeader = 25;
        private const int IndexRangeLength = 24;
        private const int BatchHeader = 12;
        private const int TransactionHeader = 13;

        /// <summary>Writes one list entry of the piece <paramref name="piece"/> (<c>source</c>, <c>sink</c>, ...).</summary>
        public static void WriteEntry(Utf8JsonWriter json, string piece, ReadOnlySpan<byte> entry)
        {
            bool written = piece switch
            {
                "source" => TryWriteIndexRange(json, entry) || TryWriteTextSplit(json, entry),
                "sink" => TryWriteBatch(json, entry) || TryWriteTransaction(json, entry),
                _ => false,
            };
            if (!written)
            {
                StateValueDecoder.WriteGuessed(json, entry);
            }
        }

        // GeneratorSource: next, end, step (i64 each).
        private static bool TryWriteIndexRange(Utf8JsonWriter json, ReadOnlySpan<byte> entry)
        {
            if (entry.Length != IndexRangeLength)
            {
                return false;
            }

            json.WriteStartObject();
            json.WriteString("as", "index range");
            json.WriteNumber("next", BinaryPrimitives.ReadInt64LittleEndian(entry));
            json.WriteNumber("end", BinaryPrimitives.ReadInt64LittleEndian(entry[8..]));
            json.WriteNumber("step", BinaryPrimitives.ReadInt64LittleEndian(entry[16..]));
            json.WriteEndObject();
            return true;
        }

        // TextLinesSource: start, end, offset (i64 each), at-line-start (u8), then the UTF-8 path.
        private static bool TryWriteTextSplit(Utf8JsonWriter json, ReadOnlySpan<byte> entry)
        {
            if (entry.Length <= TextSplitHeader || entry[24] > 1 || !TryUtf8(entry[TextSplitHeader..], out string path))
            {
                return false;
            }

            json.WriteStartObject();
            json.WriteString("as", "text file split");
            json.WriteString("path", path);
            json.WriteNumber("start", BinaryPrimitives.ReadInt64LittleEndian(entry));
            json.WriteNumber("end", BinaryPrimitives.ReadInt64LittleEndian(entry[8..]));
            json.WriteNumber("offset", BinaryPrimitives.ReadInt64LittleEndian(entry[16..]));
            json.WriteBoolean("atLineStart", entry[24] == 1);
            json.WriteEndObject();
            return true;
        }

        // WriteAheadLogSink: checkpoint ID (i64), record count (i32), then each record framed by an i32 length.
        private static bool TryWriteBatch(Utf8JsonWriter json, ReadOnlySpan<byte> entry)
        {
            if (entry.Length < BatchHeader)
            {
                return false;
            }

            int count = BinaryPrimitives.ReadInt32LittleEndian(entry[8..]);
            int position = BatchHeader;
            for (int i = 0; i < count && position <= entry.Length; i++)
            {
                if (StateValueDecoder.Framed(entry, position) is not int length)
                {
                    return false;
                }

                position += sizeof(int) + length;
            }

            if (count < 0 || position != entry.Length)
            {
                return false;
            }

            json.WriteStartObject();
            json.WriteString("as", "write-ahead batch");
            json.WriteNumber("checkpointId", BinaryPrimitives.ReadInt64LittleEndian(entry));
            json.WriteStartArray("records");
            position = BatchHeader;
            for (int i = 0; i < count; i++)
            {
                int length = StateValueDecoder.Framed(entry, position)!.Value;
                StateValueDecoder.WriteGuessed(json, entry.Slice(position + sizeof(int), length));
                position += sizeof(int) + length;
            }

            json.WriteEndArray();
            json.WriteEndObject();
            return true;
        }

        // TwoPhaseCommitSinkWriter: checkpoint ID (i64, -1 for the open transaction), subtask (i32), open (u8), then the transaction.
        private static bool TryWriteTransaction(Utf8JsonWriter json, ReadOnlySpan<byte> entry)
        {
            if (entry.Length < TransactionHeader || entry[12] > 1)
            {
                return false;
            }

            json.WriteStartObject();
            json.WriteString("as", "pending transaction");
            json.WriteNumber("checkpointId", BinaryPrimitives.ReadInt64LittleEndian(entry));
            json.WriteNumber("subtask", BinaryPrimitives.ReadInt32LittleEndian(entry[8..]));
            json.WriteBoolean("open", entry[12] == 1);
            json.WritePropertyName("transaction");
            if (!StateValueDecoder.TryWriteFramedStrings(json, entry[TransactionHeader..]))
            {
                StateValueDecoder.WriteGuessed(json, entry[TransactionHeader..]);
            }

            json.WriteEndObject();
            return true;
        }

        private static bool TryUtf8(ReadOnlySpan<byte> bytes, out string text)
        {
            try
            {
                text = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes);
                return true;
            }
            catch (DecoderFallbackException)
            {
                text = string.Empty;
                return false;
            }
        }
    }
}
