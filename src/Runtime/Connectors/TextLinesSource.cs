using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

namespace Weir.Connectors
{
    /// <summary>
    /// A bounded source of the lines of a text file, or of every file of a directory (recursively,
    /// ordered by ordinal path; files and directories whose names start with '.' or '_' are
    /// skipped). Files are split among subtasks by index: file i goes to subtask i % parallelism.
    /// </summary>
    public sealed class TextLinesSource : ISource<string, TextLinesReader>
    {
        /// <summary>Creates the source.</summary>
        public TextLinesSource(string path) => Path = path ?? throw new ArgumentNullException(nameof(path));

        /// <summary>The file or directory read.</summary>
        public string Path { get; }

        /// <inheritdoc/>
        public bool IsBounded => true;

        /// <inheritdoc/>
        public TextLinesReader CreateReader(SourceContext context)
        {
            IReadOnlyList<string> files = ListFiles(Path);
            var mine = new List<string>();
            for (int i = context.SubtaskIndex; i < files.Count; i += context.Parallelism)
            {
                mine.Add(files[i]);
            }

            return new TextLinesReader(mine);
        }

        /// <summary>The files a path stands for, in the order they are read.</summary>
        public static IReadOnlyList<string> ListFiles(string path)
        {
            if (File.Exists(path))
            {
                return new[] { System.IO.Path.GetFullPath(path) };
            }

            if (!Directory.Exists(path))
            {
                throw new FileNotFoundException($"Input '{path}' is neither a file nor a directory. Check the path given to the source.", path);
            }

            var root = new DirectoryInfo(path);
            return root.EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.Hidden })
                .Where(f => !IsHidden(root, f))
                .Select(f => f.FullName)
                .OrderBy(f => f, StringComparer.Ordinal)
                .ToArray();
        }

        private static bool IsHidden(DirectoryInfo root, FileInfo file)
        {
            for (FileSystemInfo? node = file; node is not null && node.FullName.Length > root.FullName.TrimEnd('/').Length; node = (node as FileInfo)?.Directory ?? (node as DirectoryInfo)?.Parent)
            {
                if (node.Name.StartsWith('.') || node.Name.StartsWith('_'))
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>Reads the lines of a subtask's files, one file after the other.</summary>
    public sealed class TextLinesReader : ISourceReader<string>
    {
        private readonly IReadOnlyList<string> _files;
        private int _next;
        private StreamReader? _current;

        internal TextLinesReader(IReadOnlyList<string> files) => _files = files;

        /// <summary>The file being read, or null.</summary>
        public string? CurrentFile => _next > 0 && _next <= _files.Count ? _files[_next - 1] : null;

        /// <inheritdoc/>
        public int Read(Span<string> buffer)
        {
            int count = 0;
            while (count < buffer.Length)
            {
                if (_current is null)
                {
                    if (_next == _files.Count)
                    {
                        return count > 0 ? count : -1;
                    }

                    _current = new StreamReader(_files[_next++], Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16);
                }

                string? line = _current.ReadLine();
                if (line is null)
                {
                    _current.Dispose();
                    _current = null;
                    continue;
                }

                buffer[count++] = line;
            }

            return count;
        }

        /// <inheritdoc/>
        public void Dispose()
        {
            _current?.Dispose();
            _current = null;
        }
    }
}
