using System.Text;

namespace Weir.Generator.Helpers
{
    /// <summary>Writes indented C# text (the dotnet/runtime generators' SourceWriter, reduced to what Weir needs).</summary>
    internal sealed class SourceWriter
    {
        private readonly StringBuilder _text = new();
        private int _indentation;

        /// <summary>
        /// Writes a line at the current indentation. Only the first line of a multi-line text is
        /// indented: such text is copied user code, whose later lines may be inside a verbatim string.
        /// </summary>
        public void WriteLine(string line = "")
        {
            if (line.Length == 0)
            {
                _text.Append('\n');
                return;
            }

            _text.Append(' ', 4 * _indentation).Append(line.Replace("\r\n", "\n")).Append('\n');
        }

        /// <summary>Writes a line verbatim, without indentation (copied user code keeps its own layout).</summary>
        public void WriteRaw(string text) => _text.Append(text).Append('\n');

        public void OpenBlock(string? header = null)
        {
            if (header is not null)
            {
                WriteLine(header);
            }

            WriteLine("{");
            _indentation++;
        }

        public void CloseBlock(string suffix = "")
        {
            _indentation--;
            WriteLine("}" + suffix);
        }

        public override string ToString() => _text.ToString();
    }
}
