using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Weir.Checkpointing.Coordinator;
using Weir.Checkpointing.Storage;
using Weir.Checkpointing.Subtasks;

namespace Weir.Hosting.Inspection
{
    /// <summary>One checkpoint as <c>checkpoints</c> lists it.</summary>
    /// <param name="Id">The checkpoint ID.</param>
    /// <param name="Status">completed, corrupt, incomplete (a directory without <c>_metadata</c>), in-progress or aborted.</param>
    /// <param name="TriggerTime">When it was triggered.</param>
    /// <param name="CompletionTime">When its metadata was written (completed and corrupt checkpoints).</param>
    /// <param name="Trigger">periodic or manual (from the statistics file).</param>
    /// <param name="EndToEndDurationMs">From trigger to completion or abort (statistics).</param>
    /// <param name="BytesWritten">Bytes this checkpoint wrote: for an incremental checkpoint only what changed (statistics).</param>
    /// <param name="FullSize">Bytes of all the state it consists of, including files shared with earlier checkpoints.</param>
    /// <param name="MaxSyncMs">The slowest subtask's synchronous part (statistics).</param>
    /// <param name="MaxAsyncMs">The slowest subtask's asynchronous part (statistics).</param>
    /// <param name="MaxAlignmentMs">The longest barrier alignment (statistics).</param>
    /// <param name="Operators">Stateful operators in its metadata.</param>
    /// <param name="Subtasks">Operator subtasks in its metadata.</param>
    /// <param name="UsedOnRestart">Whether a restart of the job would restore this checkpoint.</param>
    /// <param name="Problem">Why it cannot be used (corrupt), was aborted, or is incomplete.</param>
    internal sealed record CheckpointListEntry(
        long Id,
        string Status,
        DateTimeOffset? TriggerTime,
        DateTimeOffset? CompletionTime,
        string? Trigger,
        double? EndToEndDurationMs,
        long? BytesWritten,
        long? FullSize,
        double? MaxSyncMs,
        double? MaxAsyncMs,
        double? MaxAlignmentMs,
        int? Operators,
        int? Subtasks,
        bool UsedOnRestart,
        string? Problem);

    /// <summary>What <c>checkpoints</c> prints: a job's checkpoints, newest first.</summary>
    /// <param name="Job">The job.</param>
    /// <param name="Directory">The job's checkpoint directory.</param>
    /// <param name="RestoreCheckpointId">The checkpoint a restart would restore, or null for a fresh start.</param>
    /// <param name="StatisticsProblem">Why the statistics file could not be read, if it could not.</param>
    /// <param name="Checkpoints">Every checkpoint found, newest first.</param>
    internal sealed record CheckpointList(
        string Job,
        string Directory,
        long? RestoreCheckpointId,
        string? StatisticsProblem,
        IReadOnlyList<CheckpointListEntry> Checkpoints);

    /// <summary>
    /// Lists a job's checkpoints read-only: the complete ones from their <c>_metadata</c> (every state
    /// file verified, as recovery does), the in-progress and aborted ones from
    /// <c>checkpoint-stats.json</c>, and says which one a restart would use. Nothing is deleted, so it
    /// may run next to the job.
    /// </summary>
    internal static class CheckpointListing
    {
        /// <summary>Reads the checkpoints of <paramref name="jobName"/> under <paramref name="checkpointDirectory"/>.</summary>
        /// <exception cref="InspectionException">There are no checkpoints of the job there.</exception>
        public static CheckpointList Read(string checkpointDirectory, string jobName)
        {
            string jobDirectory = Path.GetFullPath(Path.Combine(checkpointDirectory, jobName));
            string statisticsFile = Path.Combine(jobDirectory, CheckpointDriver.StatisticsFileName);
            string[] checkpointDirectories = Directory.Exists(jobDirectory) ? Directory.GetDirectories(jobDirectory) : [];
            if (!checkpointDirectories.Any(d => CheckpointFiles.IsCheckpointDirectory(Path.GetFileName(d), out _)) && !File.Exists(statisticsFile))
            {
                throw new InspectionException(
                    $"No checkpoints of job '{jobName}' in '{jobDirectory}': " +
                    (Directory.Exists(checkpointDirectory)
                        ? "the directory holds no chk-<id> directories of this job (is --checkpoint-dir the directory given to run, and the job's name right?)."
                        : $"the checkpoint directory '{Path.GetFullPath(checkpointDirectory)}' does not exist."));
            }

            (Dictionary<long, CheckpointSummary> statistics, string? statisticsProblem) = ReadStatistics(statisticsFile);
            var storage = new LocalCheckpointStorage(jobDirectory);
            var entries = new List<CheckpointListEntry>();
            foreach (string directory in checkpointDirectories)
            {
                if (!CheckpointFiles.IsCheckpointDirectory(Path.GetFileName(directory), out long id))
                {
                    continue;
                }

                statistics.TryGetValue(id, out CheckpointSummary? summary);
                entries.Add(Describe(storage, jobName, directory, id, summary));
            }

            foreach (CheckpointSummary summary in statistics.Values)
            {
                if (summary.Status != CheckpointStatus.Completed && !entries.Any(e => e.Id == summary.Id))
                {
                    entries.Add(FromStatistics(summary, summary.Status == CheckpointStatus.InProgress ? "in-progress" : "aborted", fullSize: null, operators: null, subtasks: null, completion: null, problem: AbortProblem(summary)));
                }
            }

            entries.Sort((a, b) => b.Id.CompareTo(a.Id));
            long? restore = entries.FirstOrDefault(e => e.Status == "completed")?.Id;
            entries = entries.Select(e => e.Id == restore && e.Status == "completed" ? e with { UsedOnRestart = true } : e).ToList();
            return new CheckpointList(jobName, jobDirectory, restore, statisticsProblem, entries);
        }

        /// <summary>The listing as indented JSON (source-generated, AOT-safe).</summary>
        public static string ToJson(CheckpointList list) => JsonSerializer.Serialize(list, InspectionJsonContext.Default.CheckpointList);

        /// <summary>The listing as a table for people.</summary>
        public static string ToText(CheckpointList list)
        {
            var text = new StringBuilder();
            text.Append(CultureInfo.InvariantCulture, $"Checkpoints of job '{list.Job}' in {list.Directory}, newest first:").AppendLine();
            string[] header = ["ID", "STATUS", "COMPLETED (UTC)", "TRIGGER", "DURATION", "WRITTEN", "FULL SIZE", "MAX SYNC", "MAX ASYNC", "MAX ALIGN", "OPERATORS", "SUBTASKS", "RESTART"];
            var rows = new List<string[]> { header };
            foreach (CheckpointListEntry e in list.Checkpoints)
            {
                rows.Add([
                    e.Id.ToString(CultureInfo.InvariantCulture),
                    e.Status,
                    (e.CompletionTime ?? e.TriggerTime)?.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture) ?? "-",
                    e.Trigger ?? "-",
                    Milliseconds(e.EndToEndDurationMs),
                    e.BytesWritten is long written ? CheckpointFiles.FormatBytes(written) : "-",
                    e.FullSize is long full ? CheckpointFiles.FormatBytes(full) : "-",
                    Milliseconds(e.MaxSyncMs),
                    Milliseconds(e.MaxAsyncMs),
                    Milliseconds(e.MaxAlignmentMs),
                    e.Operators?.ToString(CultureInfo.InvariantCulture) ?? "-",
                    e.Subtasks?.ToString(CultureInfo.InvariantCulture) ?? "-",
                    e.UsedOnRestart ? "<- restores this" : string.Empty,
                ]);
            }

            int[] widths = Enumerable.Range(0, header.Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
            foreach (string[] row in rows)
            {
                text.AppendLine(string.Join("  ", row.Select((cell, c) => cell.PadRight(widths[c]))).TrimEnd());
            }

            foreach (CheckpointListEntry e in list.Checkpoints.Where(e => e.Problem is not null))
            {
                text.Append(CultureInfo.InvariantCulture, $"Checkpoint {e.Id} ({e.Status}): {e.Problem}").AppendLine();
            }

            text.AppendLine(list.RestoreCheckpointId is long restore
                ? string.Create(CultureInfo.InvariantCulture, $"A restart restores checkpoint {restore}.")
                : "No checkpoint is usable: a restart starts without state.");
            if (list.StatisticsProblem is not null)
            {
                text.AppendLine(list.StatisticsProblem);
            }

            return text.ToString();
        }

        private static CheckpointListEntry Describe(LocalCheckpointStorage storage, string jobName, string directory, long id, CheckpointSummary? summary)
        {
            string metadataFile = Path.Combine(directory, CheckpointLayout.MetadataFileName);
            if (!File.Exists(metadataFile))
            {
                string status = summary?.Status switch
                {
                    CheckpointStatus.InProgress => "in-progress",
                    CheckpointStatus.Aborted => "aborted",
                    _ => "incomplete",
                };
                string problem = summary?.Status == CheckpointStatus.Aborted
                    ? AbortProblem(summary)!
                    : "no _metadata: being written, or abandoned by a process that stopped (the next start of the job removes it).";
                return summary is null
                    ? new CheckpointListEntry(id, status, null, null, null, null, null, null, null, null, null, null, null, false, problem)
                    : FromStatistics(summary, status, null, null, null, null, problem);
            }

            CheckpointMetadata metadata;
            try
            {
                metadata = CheckpointFiles.ReadMetadata(metadataFile, jobName, id);
            }
            catch (CheckpointCorruptException e)
            {
                return summary is null
                    ? new CheckpointListEntry(id, "corrupt", null, null, null, null, null, null, null, null, null, null, null, false, e.Message)
                    : FromStatistics(summary, "corrupt", null, null, null, null, e.Message);
            }

            IEnumerable<StateFileReference> files = metadata.Operators.SelectMany(o => o.Subtasks).SelectMany(s => s.Files).Select(f => f.File);
            string? corrupt = null;
            foreach (StateFileReference file in files)
            {
                try
                {
                    StateFileReader.Verify(storage, file.Path, file);
                }
                catch (CheckpointCorruptException e)
                {
                    corrupt = e.Message;
                    break;
                }
            }

            long fullSize = files.Sum(f => f.StoredLength);
            int operators = metadata.Operators.Count;
            int subtasks = metadata.Operators.Sum(o => o.Subtasks.Count);
            string state = corrupt is null ? "completed" : "corrupt";
            return summary is null
                ? new CheckpointListEntry(id, state, metadata.TriggerTime, metadata.CompletionTime, null, (metadata.CompletionTime - metadata.TriggerTime).TotalMilliseconds, null, fullSize, null, null, null, operators, subtasks, false, corrupt)
                : FromStatistics(summary, state, fullSize, operators, subtasks, metadata.CompletionTime, corrupt);
        }

        private static CheckpointListEntry FromStatistics(CheckpointSummary summary, string status, long? fullSize, int? operators, int? subtasks, DateTimeOffset? completion, string? problem)
            => new(
                summary.Id,
                status,
                summary.TriggerTime,
                completion,
                summary.Trigger.ToString().ToLowerInvariant(),
                summary.EndToEndDuration?.TotalMilliseconds,
                summary.BytesWritten,
                fullSize ?? (summary.Subtasks.Count > 0 ? summary.FullStateSize : null),
                summary.Subtasks.Count > 0 ? summary.MaxSyncDuration.TotalMilliseconds : null,
                summary.Subtasks.Count > 0 ? summary.MaxAsyncDuration.TotalMilliseconds : null,
                summary.Subtasks.Count > 0 ? summary.MaxAlignmentDuration.TotalMilliseconds : null,
                operators,
                subtasks ?? summary.AcknowledgedSubtasks,
                false,
                problem);

        private static string? AbortProblem(CheckpointSummary summary)
            => summary.Status switch
            {
                CheckpointStatus.Aborted => $"aborted ({summary.AbortReason}){(summary.AbortDetail is { } detail ? ": " + detail : string.Empty)}",
                CheckpointStatus.InProgress => string.Create(CultureInfo.InvariantCulture, $"{summary.AcknowledgedSubtasks} of {summary.TotalSubtasks} subtasks acknowledged."),
                _ => null,
            };

        private static (Dictionary<long, CheckpointSummary> ById, string? Problem) ReadStatistics(string file)
        {
            var byId = new Dictionary<long, CheckpointSummary>();
            if (!File.Exists(file))
            {
                return (byId, null);
            }

            CheckpointStatistics statistics;
            try
            {
                statistics = CheckpointStatistics.FromJson(File.ReadAllText(file));
            }
            catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
            {
                return (byId, $"The statistics file '{file}' could not be read ({e.Message}): durations, trigger and bytes written are not shown.");
            }

            foreach (CheckpointSummary? summary in new[] { statistics.LatestCompleted, statistics.LatestAborted }.Concat(statistics.History))
            {
                if (summary is not null)
                {
                    byId[summary.Id] = summary; // History is the newest view of a checkpoint.
                }
            }

            return (byId, null);
        }

        private static string Milliseconds(double? milliseconds)
            => milliseconds is double ms ? CheckpointFiles.FormatDuration(TimeSpan.FromMilliseconds(ms)) : "-";
    }

    /// <summary>AOT-safe JSON for the inspection commands (System.Text.Json source generation, no reflection).</summary>
    [JsonSourceGenerationOptions(
        PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
    [JsonSerializable(typeof(CheckpointList))]
    [JsonSerializable(typeof(StateSummary))]
    internal sealed partial class InspectionJsonContext : JsonSerializerContext
    {
    }
}
