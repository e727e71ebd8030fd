using System;
using System.Globalization;

namespace Weir.Checkpointing.Storage
{
    /// <summary>
    /// The directory layout of a job's checkpoints (docs/checkpoints.md):
    /// <code>
    /// &lt;job&gt;/chk-&lt;id&gt;/_metadata   written last, atomically: its presence makes the checkpoint complete
    /// &lt;job&gt;/chk-&lt;id&gt;/*.state     files only this checkpoint uses, deleted with it
    /// &lt;job&gt;/shared/*.state        files several checkpoints may use (incremental), reference-counted
    /// </code>
    /// Paths recorded in metadata are relative to <c>&lt;job&gt;</c>.
    /// </summary>
    public static class CheckpointLayout
    {
        /// <summary>The name of the file that describes, and completes, a checkpoint.</summary>
        public const string MetadataFileName = "_metadata";

        /// <summary>The directory, in a job's directory, of files that several checkpoints can share.</summary>
        public const string SharedDirectoryName = "shared";

        /// <summary>The prefix of a checkpoint's directory name; the ID follows in decimal.</summary>
        public const string CheckpointDirectoryPrefix = "chk-";

        /// <summary>The extension of state files.</summary>
        public const string StateFileExtension = ".state";

        /// <summary>The directory of checkpoint <paramref name="checkpointId"/>, relative to the job's directory.</summary>
        public static string CheckpointDirectory(long checkpointId)
            => CheckpointDirectoryPrefix + checkpointId.ToString(CultureInfo.InvariantCulture);

        /// <summary>The metadata file of checkpoint <paramref name="checkpointId"/>, relative to the job's directory.</summary>
        public static string MetadataPath(long checkpointId) => CheckpointDirectory(checkpointId) + "/" + MetadataFileName;

        /// <summary>Reads the ID out of a directory name of the form <c>chk-&lt;id&gt;</c>.</summary>
        public static bool TryParseCheckpointDirectory(string name, out long checkpointId)
        {
            checkpointId = 0;
            return name.StartsWith(CheckpointDirectoryPrefix, StringComparison.Ordinal)
                && long.TryParse(name.AsSpan(CheckpointDirectoryPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out checkpointId)
                && CheckpointDirectory(checkpointId) == name; // refuses "chk-007", which would alias chk-7
        }

        /// <summary>Whether a metadata path names a shared (reference-counted) file.</summary>
        public static bool IsShared(string relativePath) => relativePath.StartsWith(SharedDirectoryName + "/", StringComparison.Ordinal);

        /// <summary>
        /// Checks that a job name can be a directory name on every file system and object store:
        /// letters, digits, '.', '_' and '-', not starting with '.'.
        /// </summary>
        public static void ValidateJobName(string jobName)
        {
            ArgumentException.ThrowIfNullOrEmpty(jobName);
            if (jobName[0] == '.' || !IsPortableName(jobName))
            {
                throw new ArgumentException($"Job name '{jobName}' cannot name a checkpoint directory: use letters, digits, '.', '_' and '-', not starting with '.'.", nameof(jobName));
            }
        }

        /// <summary>
        /// Whether <paramref name="relativePath"/> (from metadata) may be used by checkpoint
        /// <paramref name="checkpointId"/>: a file directly in its own directory or in the shared
        /// directory, nothing else (no '..', no other checkpoint's directory, whose deletion would
        /// silently take the file away).
        /// </summary>
        public static bool IsValidStateFilePath(string relativePath, long checkpointId)
        {
            string name;
            if (IsShared(relativePath))
            {
                name = relativePath[(SharedDirectoryName.Length + 1)..];
            }
            else
            {
                string own = CheckpointDirectory(checkpointId) + "/";
                if (!relativePath.StartsWith(own, StringComparison.Ordinal))
                {
                    return false;
                }

                name = relativePath[own.Length..];
            }

            return name.Length > 0 && name[0] != '.' && name != MetadataFileName && IsPortableName(name);
        }

        /// <summary>The directory, in a job's directory, where savepoints go unless a target is given.</summary>
        public const string SavepointsDirectoryName = "savepoints";

        /// <summary>
        /// Where a savepoint writes a file, relative to the savepoint's directory:
        /// <c>&lt;op-hash&gt;/&lt;name&gt;/subtask-&lt;index&gt;.state</c> (operator, then the piece of state,
        /// then the subtask, whose key-group range the metadata records).
        /// </summary>
        public static string SavepointStateFile(string operatorId, int subtaskIndex, string name)
            => string.Create(CultureInfo.InvariantCulture, $"{OperatorIds.Hash(operatorId):x16}/{name}/subtask-{subtaskIndex}{StateFileExtension}");

        /// <summary>
        /// Where a savepoint writes one keyed state of one subtask, relative to the savepoint's directory:
        /// <c>&lt;op-hash&gt;/keyed/&lt;state-dir&gt;/subtask-&lt;index&gt;.state</c> (operator, state name,
        /// then the subtask, whose key-group range the metadata records). See <see cref="StateDirectoryName"/>.
        /// </summary>
        public static string SavepointKeyedStateFile(string operatorId, int subtaskIndex, string piece, string stateName)
            => string.Create(CultureInfo.InvariantCulture, $"{OperatorIds.Hash(operatorId):x16}/{piece}/{StateDirectoryName(stateName)}/subtask-{subtaskIndex}{StateFileExtension}");

        /// <summary>
        /// The directory name of a keyed state in a savepoint. State names are user strings: a name of
        /// at most 64 letters, digits, '.', '_' and '-' that does not start with '.' is used as it is;
        /// any other gets its unsafe characters replaced by '_', is cut to 64 characters and ends in
        /// '-' and the first 8 hex digits of its name's FNV-1a 64 hash, so names that differ only in
        /// unsafe characters get distinct directories (a savepoint whose states of one operator would
        /// still share one is refused when written). <c>_metadata</c> holds the real name
        /// (<see cref="SubtaskStateFile.StateName"/>).
        /// </summary>
        public static string StateDirectoryName(string stateName)
        {
            ArgumentException.ThrowIfNullOrEmpty(stateName);
            const int MaxLength = 64;
            if (stateName.Length <= MaxLength && stateName[0] != '.' && IsPortableName(stateName))
            {
                return stateName;
            }

            var safe = new System.Text.StringBuilder(Math.Min(stateName.Length, MaxLength));
            foreach (char c in stateName)
            {
                if (safe.Length == MaxLength)
                {
                    break;
                }

                safe.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '_');
            }

            if (safe[0] == '.')
            {
                safe[0] = '_';
            }

            return string.Create(CultureInfo.InvariantCulture, $"{safe}-{OperatorIds.Hash(stateName) >> 32:x8}");
        }

        /// <summary>
        /// Whether <paramref name="relativePath"/> (from a savepoint's metadata) names a file inside the
        /// savepoint's directory: portable segments, no '..', not the metadata itself.
        /// </summary>
        public static bool IsValidSavepointFilePath(string relativePath)
        {
            if (relativePath.Length == 0 || relativePath == MetadataFileName)
            {
                return false;
            }

            foreach (string segment in relativePath.Split('/'))
            {
                if (segment.Length == 0 || segment[0] == '.' || !IsPortableName(segment))
                {
                    return false;
                }
            }

            return true;
        }

        internal static bool IsPortableName(string name)
        {
            foreach (char c in name)
            {
                if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
                {
                    return false;
                }
            }

            return name.Length > 0 && name != "." && name != "..";
        }
    }
}
