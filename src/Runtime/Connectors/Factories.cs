using System;

namespace Weir
{
    using Weir.Connectors;
    using Weir.State;

    /// <summary>The built-in sources.</summary>
    public static class Sources
    {
        /// <summary>The lines of a text file or of every file in a directory (bounded).</summary>
        public static TextLinesSource TextLines(string path) => new(path);

        /// <summary>
        /// The lines of a text file or directory (bounded), read by all subtasks together at most
        /// <paramref name="ratePerSecond"/> lines per second (0 or null: unlimited).
        /// </summary>
        public static TextLinesSource TextLines(string path, double? ratePerSecond) => new(path, ratePerSecond);

        /// <summary><paramref name="count"/> generated records (bounded), split among subtasks.</summary>
        public static GeneratorSource<T, TGenerator> Generate<T, TGenerator>(long count, TGenerator generator = default)
            where TGenerator : struct, IRecordGenerator<T>
            => new(count, generator);

        /// <summary>Generated records without end (stopped by Ctrl+C or cancellation).</summary>
        public static GeneratorSource<T, TGenerator> GenerateUnbounded<T, TGenerator>(TGenerator generator = default)
            where TGenerator : struct, IRecordGenerator<T>
            => new(null, generator);

        /// <summary>The records of an array (bounded).</summary>
        public static ArraySource<T> FromArray<T>(T[] records) => new(records);
    }

    /// <summary>The built-in sinks.</summary>
    public static class Sinks
    {
        /// <summary>One line per record (formatted by <see cref="ISpanFormattable"/>, invariant culture) in files under a directory.</summary>
        public static TextFileSink<T, SpanFormattableFormat<T>> TextFiles<T>(string directory)
            where T : ISpanFormattable
            => new(directory);

        /// <summary>One line per record, formatted by <typeparamref name="TFormat"/>, in files under a directory.</summary>
        public static TextFileSink<T, TFormat> TextFiles<T, TFormat>(string directory)
            where TFormat : struct, ITextFormat<T>
            => new(directory);

        /// <summary>One line per string in files under a directory.</summary>
        public static TextFileSink<string, StringFormat> TextLines(string directory) => new(directory);

        /// <summary>
        /// Wraps a non-transactional sink in a write-ahead log (<see cref="WriteAheadLogSink{T, TInnerWriter}"/>):
        /// under checkpoints records reach <paramref name="inner"/> only once their checkpoint completes
        /// (exactly-once if the inner system tolerates a replay of the last batches, at-least-once
        /// otherwise); <paramref name="serializer"/> writes the buffered records into checkpoints.
        /// </summary>
        public static WriteAheadLogSink<T, TWriter> WriteAheadLog<T, TWriter>(ISink<T, TWriter> inner, IStateSerializer<T> serializer)
            where TWriter : ISinkWriter<T>
            => new(inner, serializer);

        /// <summary>Drops every record.</summary>
        public static DiscardSink<T> Discard<T>() => new();

        /// <summary>Hands the records to <paramref name="output"/> when the input ends.</summary>
        public static CollectSink<T> Collect<T>(CollectedOutput<T> output) => new(output);
    }
}
