using System;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Weir.Execution;

namespace Weir.Checkpointing.Storage
{
    /// <summary>Writes a key-group range as <c>[start, end]</c> (inclusive), as compact as it reads.</summary>
    internal sealed class KeyGroupRangeJsonConverter : JsonConverter<KeyGroupRange>
    {
        public override KeyGroupRange Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType != JsonTokenType.StartArray || !reader.Read() || reader.TokenType != JsonTokenType.Number)
            {
                throw new JsonException("A key-group range is written [start, end].");
            }

            int start = reader.GetInt32();
            if (!reader.Read() || reader.TokenType != JsonTokenType.Number)
            {
                throw new JsonException("A key-group range is written [start, end].");
            }

            int end = reader.GetInt32();
            if (!reader.Read() || reader.TokenType != JsonTokenType.EndArray)
            {
                throw new JsonException("A key-group range is written [start, end].");
            }

            return new KeyGroupRange(start, end);
        }

        public override void Write(Utf8JsonWriter writer, KeyGroupRange value, JsonSerializerOptions options)
        {
            writer.WriteStartArray();
            writer.WriteNumberValue(value.Start);
            writer.WriteNumberValue(value.End);
            writer.WriteEndArray();
        }
    }

    /// <summary>
    /// Writes a 64-bit checksum as 16 hex digits: JSON tools that read numbers as doubles (jq,
    /// JavaScript) would silently round a u64 above 2^53.
    /// </summary>
    internal sealed class ChecksumJsonConverter : JsonConverter<ulong>
    {
        public override ulong Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType != JsonTokenType.String
                || !ulong.TryParse(reader.GetString(), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong value))
            {
                throw new JsonException("A checksum is written as a string of 16 hex digits.");
            }

            return value;
        }

        public override void Write(Utf8JsonWriter writer, ulong value, JsonSerializerOptions options)
            => writer.WriteStringValue(value.ToString("x16", CultureInfo.InvariantCulture));
    }
}
