using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace Weir.Generator.Helpers
{
    /// <summary>
    /// A small JSON reader for state baselines: the generator runs in compilers that may not carry
    /// System.Text.Json, and a baseline is small. Objects become dictionaries, arrays lists, numbers
    /// doubles; errors are <see cref="FormatException"/>s with the line number.
    /// </summary>
    internal sealed class MiniJson
    {
        private readonly string _text;
        private int _position;

        private MiniJson(string text) => _text = text;

        public static object? Parse(string text)
        {
            var reader = new MiniJson(text);
            reader.SkipWhitespace();
            if (reader._position < text.Length && text[reader._position] == '\uFEFF')
            {
                reader._position++;
            }

            object? value = reader.ReadValue();
            reader.SkipWhitespace();
            if (reader._position != text.Length)
            {
                throw reader.Error("unexpected text after the JSON value");
            }

            return value;
        }

        private object? ReadValue()
        {
            SkipWhitespace();
            if (_position >= _text.Length)
            {
                throw Error("unexpected end of text");
            }

            char c = _text[_position];
            switch (c)
            {
                case '{':
                    return ReadObject();
                case '[':
                    return ReadArray();
                case '"':
                    return ReadString();
                case 't':
                    return ReadLiteral("true", true);
                case 'f':
                    return ReadLiteral("false", false);
                case 'n':
                    return ReadLiteral("null", null);
                default:
                    if (c == '-' || char.IsDigit(c))
                    {
                        return ReadNumber();
                    }

                    throw Error($"unexpected '{c}'");
            }
        }

        private Dictionary<string, object?> ReadObject()
        {
            var result = new Dictionary<string, object?>(StringComparer.Ordinal);
            _position++;
            SkipWhitespace();
            if (Peek() == '}')
            {
                _position++;
                return result;
            }

            while (true)
            {
                SkipWhitespace();
                if (Peek() != '"')
                {
                    throw Error("expected a property name");
                }

                string name = ReadString();
                SkipWhitespace();
                Expect(':');
                result[name] = ReadValue();
                SkipWhitespace();
                if (Peek() == ',')
                {
                    _position++;
                    continue;
                }

                Expect('}');
                return result;
            }
        }

        private List<object?> ReadArray()
        {
            var result = new List<object?>();
            _position++;
            SkipWhitespace();
            if (Peek() == ']')
            {
                _position++;
                return result;
            }

            while (true)
            {
                result.Add(ReadValue());
                SkipWhitespace();
                if (Peek() == ',')
                {
                    _position++;
                    continue;
                }

                Expect(']');
                return result;
            }
        }

        private string ReadString()
        {
            _position++;
            var text = new StringBuilder();
            while (_position < _text.Length)
            {
                char c = _text[_position++];
                if (c == '"')
                {
                    return text.ToString();
                }

                if (c != '\\')
                {
                    text.Append(c);
                    continue;
                }

                if (_position >= _text.Length)
                {
                    break;
                }

                char escape = _text[_position++];
                switch (escape)
                {
                    case '"':
                    case '\\':
                    case '/':
                        text.Append(escape);
                        break;
                    case 'b':
                        text.Append('\b');
                        break;
                    case 'f':
                        text.Append('\f');
                        break;
                    case 'n':
                        text.Append('\n');
                        break;
                    case 'r':
                        text.Append('\r');
                        break;
                    case 't':
                        text.Append('\t');
                        break;
                    case 'u' when _position + 4 <= _text.Length
                        && int.TryParse(_text.Substring(_position, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int code):
                        text.Append((char)code);
                        _position += 4;
                        break;
                    default:
                        throw Error($"invalid escape '\\{escape}'");
                }
            }

            throw Error("unterminated string");
        }

        private double ReadNumber()
        {
            int start = _position;
            while (_position < _text.Length && "+-0123456789.eE".IndexOf(_text[_position]) >= 0)
            {
                _position++;
            }

            string number = _text.Substring(start, _position - start);
            return double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) ? value : throw Error($"invalid number '{number}'");
        }

        private object? ReadLiteral(string literal, object? value)
        {
            if (string.CompareOrdinal(_text, _position, literal, 0, literal.Length) != 0)
            {
                throw Error("invalid literal");
            }

            _position += literal.Length;
            return value;
        }

        private void Expect(char c)
        {
            if (Peek() != c)
            {
                throw Error($"expected '{c}'");
            }

            _position++;
        }

        private char Peek() => _position < _text.Length ? _text[_position] : '\0';

        private void SkipWhitespace()
        {
            while (_position < _text.Length && char.IsWhiteSpace(_text[_position]))
            {
                _position++;
            }
        }

        private FormatException Error(string what)
        {
            int line = 1;
            for (int i = 0; i < Math.Min(_position, _text.Length); i++)
            {
                if (_text[i] == '\n')
                {
                    line++;
                }
            }

            return new FormatException($"line {line.ToString(CultureInfo.InvariantCulture)}: {what}");
        }
    }
}
