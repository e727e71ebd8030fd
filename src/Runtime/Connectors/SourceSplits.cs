using System;
using System.Collections.Generic;

namespace Weir.Connectors
{
    /// <summary>
    /// The splits a source reader reads, as event time sees them: each split has its own timeline,
    /// so a timestamp assigner fused after the source keeps one watermark generator per split and
    /// emits the minimum over the splits not finished yet (Flink's per-split watermarks). A reader
    /// that reports no splits is one timeline.
    /// </summary>
    /// <remarks>
    /// Why per split: a reader that reads two files (or partitions) covering the same hour would
    /// otherwise let the first file's timestamps advance the watermark past the second file's
    /// records, which then arrive late and are dropped. With one generator per split, the
    /// watermark waits for the split that is furthest behind; a finished split stops holding it.
    /// A reader reports the split of the records it returns: every batch a reader returns comes
    /// from one split (the one named by the last <see cref="Enter"/>).
    /// </remarks>
    public sealed class SourceSplits
    {
        private readonly List<string> _names = new();
        private readonly Dictionary<string, int> _byName = new(StringComparer.Ordinal);
        private readonly List<bool> _finished = new();
        private readonly List<int> _finishing = new();

        /// <summary>How many splits are registered (0: the reader reports none, one timeline).</summary>
        public int Count => _names.Count;

        /// <summary>The split the records being processed come from.</summary>
        public int Current { get; private set; }

        /// <summary>
        /// True when the reader reads its splits one after another: a split not started yet waits for
        /// its turn, not for data, so it never counts as idle (it holds the watermark until it is read).
        /// </summary>
        public bool ReadsInOrder { get; set; }

        /// <summary>Changes whenever splits are registered, reset or finished, so readers of this object can resynchronise.</summary>
        public int Version { get; private set; }

        /// <summary>
        /// Registers a split by name and returns its index; registering a name again returns the
        /// same index (pieces of one file read in order share the file's timeline).
        /// </summary>
        public int Register(string name)
        {
            if (_byName.TryGetValue(name, out int index))
            {
                return index;
            }

            index = _names.Count;
            _names.Add(name);
            _byName.Add(name, index);
            _finished.Add(false);
            Version++;
            return index;
        }

        /// <summary>Forgets every split (a reader restored from a checkpoint registers what it still has to read).</summary>
        public void Reset()
        {
            _names.Clear();
            _byName.Clear();
            _finished.Clear();
            _finishing.Clear();
            Current = 0;
            Version++;
        }

        /// <summary>The records from now on come from <paramref name="split"/>.</summary>
        public void Enter(int split)
        {
            if ((uint)split >= (uint)_names.Count)
            {
                throw new ArgumentOutOfRangeException(nameof(split), split, $"No split {split} is registered ({_names.Count} are).");
            }

            Current = split;
        }

        /// <summary>
        /// <paramref name="split"/> has no more records: once the batch being returned has been
        /// processed, it no longer holds the watermark back. (Applied after the batch, so that the
        /// split's last records are never behind a watermark its own end allowed.)
        /// </summary>
        public void Finish(int split)
        {
            if ((uint)split >= (uint)_names.Count)
            {
                throw new ArgumentOutOfRangeException(nameof(split), split, $"No split {split} is registered ({_names.Count} are).");
            }

            if (!_finished[split])
            {
                _finishing.Add(split);
            }
        }

        /// <summary>Applies the splits finished during the batch just processed (called by the source's subtask).</summary>
        internal void AfterBatch()
        {
            if (_finishing.Count == 0)
            {
                return;
            }

            foreach (int split in _finishing)
            {
                _finished[split] = true;
            }

            _finishing.Clear();
            Version++;
        }

        /// <summary>Whether <paramref name="split"/> has ended.</summary>
        public bool IsFinished(int split) => _finished[split];

        /// <summary>The name <paramref name="split"/> was registered with.</summary>
        public string NameOf(int split) => _names[split];
    }
}
