using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;
using MemoryPack;
using Weir.State;

namespace Weir.Hosting.Inspection
{
    /// <summary>
    /// Decodes serialized state values without the job's types, as far as the bytes allow: a value
    /// whose declared C# type is a primitive, <c>string</c> or <c>decimal</c> is read as
    /// <see cref="MemoryPackStateSerializer{T}"/> writes it (primitives as their little-endian bytes,
    /// the rest by MemoryPack); anything else is written as <c>{"type": ..., "base64": ...}</c>.
    /// Keys and operator-state entries carry no type name, so their decoding is a guess that says so
    /// (<c>"as": "string"</c>): a MemoryPack string, else 4 or 8 bytes as a little-endian integer.
    /// </summary>
    internal static class StateValueDecoder
    {
        /// <summary>The type arguments of a state's declared type, e.g. <c>[string, long]</c> of <c>Weir.MapState&lt;string, long&gt;</c>.</summary>
        public static IReadOnlyList<string> TypeArguments(string typeName)
        {
            int open = typeName.IndexOf('<', StringComparison.Ordinal);
            if (open < 0 || !typeName.EndsWith('>'))
            {
                return [];
            }

            var arguments = new List<string>();
            int depth = 0;
            int start = open + 1;
            for (int i = start; i < typeName.Length - 1; i++)
            {
                switch (typeName[i])
                {
                    case '<' or '(' or '[':
                        depth++;
                        break;
                    case '>' or ')' or ']':
                        depth--;
                        break;
                    case ',' when depth == 0:
                        arguments.Add(typeName[start..i].Trim());
                        start = i + 1;
                        break;
                }
            }

            arguments.Add(typeName[start..^1].Trim());
            return arguments;
        }

        /// <summary>
        /// Writes the bytes of one keyed state (its column bytes, see <c>ValueState.WriteSlot</c>,
        /// <c>ListState.WriteSlot</c>, <c>MapState.WriteSlot</c>) as JSON. Whether the state has a
        /// time-to-live is not recorded; it is recognised by which layout consumes the bytes exactly.
        /// </summary>
        /// <exception cref="FormatException">The bytes fit no layout of the kind.</exception>
        public static void WriteKeyedState(Utf8JsonWriter json, KeyedStateKind kind, string typeName, ReadOnlySpan<byte> bytes)
        {
            IReadOnlyList<string> arguments = TypeArguments(typeName);
            string? Argument(int index) => index < arguments.Count ? arguments[index] : null;
            switch (kind)
            {
                case KeyedStateKind.List:
                    if (!TryWriteList(json, bytes, Argument(0), stamped: false) && !TryWriteList(json, bytes, Argument(0), stamped: true))
                    {
                        throw new FormatException($"{bytes.Length} bytes are not a list state's count and framed items.");
                    }

                    break;
                case KeyedStateKind.Map:
                    if (!TryWriteMap(json, bytes, Argument(0), Argument(1), stamped: false) && !TryWriteMap(json, bytes, Argument(0), Argument(1), stamped: true))
                    {
                        throw new FormatException($"{bytes.Length} bytes are not a map state's count and framed entries.");
                    }

                    break;
                default:
                    // Value and reducing states hold their value; an aggregating state its accumulator (TAcc).
                    string? valueType = kind == KeyedStateKind.Aggregating ? Argument(1) : Argument(0);
                    if (Framed(bytes, 0) is int length && sizeof(int) + length == bytes.Length)
                    {
                        WriteValue(json, bytes.Slice(sizeof(int), length), valueType);
                    }
                    else if (bytes.Length >= sizeof(long) && Framed(bytes, sizeof(long)) is int stamped && sizeof(long) + sizeof(int) + stamped == bytes.Length)
                    {
                        json.WriteStartObject();
                        json.WritePropertyName("value");
                        WriteValue(json, bytes.Slice(sizeof(long) + sizeof(int), stamped), valueType);
                        WriteStamp(json, BinaryPrimitives.ReadInt64LittleEndian(bytes));
                        json.WriteEndObject();
                    }
                    else
                    {
                        throw new FormatException($"{bytes.Length} bytes are not a framed value (with or without a time-to-live stamp).");
                    }

                    break;
            }
        }

        /// <summary>Writes a value serialized as the C# type <paramref name="typeName"/>: decoded when the type is one this reader knows, else as base64 with the type.</summary>
        public static void WriteValue(Utf8JsonWriter json, ReadOnlySpan<byte> bytes, string? typeName)
        {
            if (typeName is not null && TryWriteKnown(json, bytes, typeName))
            {
                return;
            }

            json.WriteStartObject();
            json.WriteString("type", typeName ?? "unknown");
            json.WriteBase64String("base64", bytes);
            json.WriteEndObject();
        }

        /// <summary>
        /// Writes bytes of an unrecorded type (keys, operator-state entries): <c>{"as": "string", "value": ...}</c>
        /// when they are exactly a MemoryPack string, <c>{"as": "int32" | "int64", ...}</c> for 4 or 8 bytes,
        /// else <c>{"base64": ...}</c>.
        /// </summary>
        public static void WriteGuessed(Utf8JsonWriter json, ReadOnlySpan<byte> bytes)
        {
            json.WriteStartObject();
            if (bytes.Length > sizeof(int) && TryMemoryPack(bytes, out string? text) && text is not null)
            {
                json.WriteString("as", "string");
                json.WriteString("value", text);
            }
            else if (bytes.Length == sizeof(int))
            {
                json.WriteString("as", "int32");
                json.WriteNumber("value", BinaryPrimitives.ReadInt32LittleEndian(bytes));
            }
            else if (bytes.Length == sizeof(long))
            {
                json.WriteString("as", "int64");
                json.WriteNumber("value", BinaryPrimitives.ReadInt64LittleEndian(bytes));
            }
            else
            {
                json.WriteBase64String("base64", bytes);
            }

            json.WriteEndObject();
        }

        /// <summary>A key as text for people: the string, the integer, or base64.</summary>
        public static string DescribeGuessed(ReadOnlySpan<byte> bytes)
        {
            if (bytes.Length > sizeof(int) && TryMemoryPack(bytes, out string? text) && text is not null)
            {
                return text;
            }

            return bytes.Length switch
            {
                sizeof(int) => BinaryPrimitives.ReadInt32LittleEndian(bytes).ToString(System.Globalization.CultureInfo.InvariantCulture),
                sizeof(long) => BinaryPrimitives.ReadInt64LittleEndian(bytes).ToString(System.Globalization.CultureInfo.InvariantCulture),
                _ => Convert.ToBase64String(bytes),
            };
        }

        /// <summary>Writes a sequence of i32-length-framed UTF-8 strings filling <paramref name="bytes"/> exactly (e.g. a text file sink's transaction: pending and final name), or returns false.</summary>
        public static bool TryWriteFramedStrings(Utf8JsonWriter json, ReadOnlySpan<byte> bytes)
        {
            var strings = new List<string>();
            var strict = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
            int position = 0;
            while (position < bytes.Length)
            {
                if (Framed(bytes, position) is not int length)
                {
                    return false;
                }

                try
                {
                    strings.Add(strict.GetString(bytes.Slice(position + sizeof(int), length)));
                }
                catch (DecoderFallbackException)
                {
                    return false;
                }

                position += sizeof(int) + length;
            }

            if (strings.Count == 0)
            {
                return false;
            }

            json.WriteStartArray();
            foreach (string s in strings)
            {
                json.WriteStringValue(s);
            }

            json.WriteEndArray();
            return true;
        }

        /// <summary>The length of an i32-framed value at <paramref name="position"/> when the frame fits in the bytes.</summary>
        public static int? Framed(ReadOnlySpan<byte> bytes, int position)
        {
            if (position < 0 || bytes.Length - position < sizeof(int))
            {
                return null;
            }

            int length = BinaryPrimitives.ReadInt32LittleEndian(bytes[position..]);
            return length >= 0 && length <= bytes.Length - position - sizeof(int) ? length : null;
        }

        private static bool TryWriteList(Utf8JsonWriter json, ReadOnlySpan<byte> bytes, string? itemType, bool stamped)
        {
            if (!TryWalk(bytes, framesPerItem: 1, stampFirst: stamped, stampLast: false, out int count))
            {
                return false;
            }

            json.WriteStartArray();
            int position = sizeof(int);
            for (int i = 0; i < count; i++)
            {
                long stamp = 0;
                if (stamped)
                {
                    stamp = BinaryPrimitives.ReadInt64LittleEndian(bytes[position..]);
                    position += sizeof(long);
                    json.WriteStartObject();
                    json.WritePropertyName("value");
                }

                int length = Framed(bytes, position)!.Value;
                WriteValue(json, bytes.Slice(position + sizeof(int), length), itemType);
                position += sizeof(int) + length;
                if (stamped)
                {
                    WriteStamp(json, stamp);
                    json.WriteEndObject();
                }
            }

            json.WriteEndArray();
            return true;
        }

        private static bool TryWriteMap(Utf8JsonWriter json, ReadOnlySpan<byte> bytes, string? keyType, string? valueType, bool stamped)
        {
            if (!TryWalk(bytes, framesPerItem: 2, stampFirst: false, stampLast: stamped, out int count))
            {
                return false;
            }

            json.WriteStartArray();
            int position = sizeof(int);
            for (int i = 0; i < count; i++)
            {
                json.WriteStartObject();
                int keyLength = Framed(bytes, position)!.Value;
                json.WritePropertyName("key");
                WriteValue(json, bytes.Slice(position + sizeof(int), keyLength), keyType);
                position += sizeof(int) + keyLength;
                int valueLength = Framed(bytes, position)!.Value;
                json.WritePropertyName("value");
                WriteValue(json, bytes.Slice(position + sizeof(int), valueLength), valueType);
                position += sizeof(int) + valueLength;
                if (stamped)
                {
                    WriteStamp(json, BinaryPrimitives.ReadInt64LittleEndian(bytes[position..]));
                    position += sizeof(long);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            return true;
        }

        // Checks that a count and that many items (each some framed values, with an optional i64 stamp
        // before or after) fill the bytes exactly.
        private static bool TryWalk(ReadOnlySpan<byte> bytes, int framesPerItem, bool stampFirst, bool stampLast, out int count)
        {
            count = bytes.Length >= sizeof(int) ? BinaryPrimitives.ReadInt32LittleEndian(bytes) : -1;
            if (count < 0)
            {
                return false;
            }

            int position = sizeof(int);
            for (int i = 0; i < count; i++)
            {
                if (stampFirst)
                {
                    position += sizeof(long);
                }

                for (int f = 0; f < framesPerItem; f++)
                {
                    if (Framed(bytes, position) is not int length)
                    {
                        return false;
                    }

                    position += sizeof(int) + length;
                }

                if (stampLast)
                {
                    position += sizeof(long);
                }

                if (position > bytes.Length)
                {
                    return false;
                }
            }

            return position == bytes.Length;
        }

        private static void WriteStamp(Utf8JsonWriter json, long unixMilliseconds)
        {
            if (unixMilliseconds >= DateTimeOffset.MinValue.ToUnixTimeMilliseconds() && unixMilliseconds <= DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
            {
                json.WriteString("writtenAt", DateTimeOffset.FromUnixTimeMilliseconds(unixMilliseconds));
            }
            else
            {
                json.WriteNumber("writtenAtUnixMs", unixMilliseconds);
            }
        }

        private static bool TryWriteKnown(Utf8JsonWriter json, ReadOnlySpan<byte> bytes, string typeName)
        {
            string type = typeName.Replace("global::", string.Empty, StringComparison.Ordinal).TrimEnd('?');
            if (type.StartsWith("System.", StringComparison.Ordinal))
            {
                type = type["System.".Length..];
            }

            switch (type)
            {
                case "long" or "Int64" when TryMemoryPack(bytes, out long l):
                    json.WriteNumberValue(l);
                    return true;
                case "int" or "Int32" when TryMemoryPack(bytes, out int i):
                    json.WriteNumberValue(i);
                    return true;
                case "short" or "Int16" when TryMemoryPack(bytes, out short s):
                    json.WriteNumberValue(s);
                    return true;
                case "sbyte" or "SByte" when TryMemoryPack(bytes, out sbyte sb):
                    json.WriteNumberValue(sb);
                    return true;
                case "ulong" or "UInt64" when TryMemoryPack(bytes, out ulong ul):
                    json.WriteNumberValue(ul);
                    return true;
                case "uint" or "UInt32" when TryMemoryPack(bytes, out uint ui):
                    json.WriteNumberValue(ui);
                    return true;
                case "ushort" or "UInt16" when TryMemoryPack(bytes, out ushort us):
                    json.WriteNumberValue(us);
                    return true;
                case "byte" or "Byte" when TryMemoryPack(bytes, out byte b):
                    json.WriteNumberValue(b);
                    return true;
                case "bool" or "Boolean" when TryMemoryPack(bytes, out bool flag):
                    json.WriteBooleanValue(flag);
                    return true;
                case "double" or "Double" when TryMemoryPack(bytes, out double d):
                    WriteFloating(json, d);
                    return true;
                case "float" or "Single" when TryMemoryPack(bytes, out float f):
                    WriteFloating(json, f);
                    return true;
                case "decimal" or "Decimal" when TryMemoryPack(bytes, out decimal m):
                    json.WriteNumberValue(m);
                    return true;
                case "char" or "Char" when TryMemoryPack(bytes, out char c):
                    json.WriteStringValue(c.ToString());
                    return true;
                case "string" or "String" when TryMemoryPack(bytes, out string? text):
                    if (text is null)
                    {
                        json.WriteNullValue();
                    }
                    else
                    {
                        json.WriteStringValue(text);
                    }

                    return true;
                // DateTime, DateTimeOffset, TimeSpan and Guid are not decoded: MemoryPack's generic
                // path for them needs dynamic code under Native AOT (IL3050); they print as bytes.
                default:
                    return false;
            }
        }

        private static void WriteFloating(Utf8JsonWriter json, double value)
        {
            if (double.IsFinite(value))
            {
                json.WriteNumberValue(value);
            }
            else
            {
                json.WriteStringValue(value.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        // MemoryPack's formatters for these built-in types need no reflection (AOT-safe); the bytes must be consumed exactly.
        private static bool TryMemoryPack<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.All)] T>(ReadOnlySpan<byte> bytes, out T? value)
        {
            value = default;
            try
            {
                return MemoryPackSerializer.Deserialize(bytes, ref value) == bytes.Length;
            }
            catch (Exception e) when (e is MemoryPackSerializationException or ArgumentException or IndexOutOfRangeException or InvalidOperationException or DecoderFallbackException)
            {
                return false;
            }
        }
    }
}
