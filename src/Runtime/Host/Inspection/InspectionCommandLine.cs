using System;
using System.CommandLine;
using System.IO;
using Weir.Checkpointing.Storage;

namespace Weir.Hosting.Inspection
{
    /// <summary>
    /// The read-only commands of every job binary: <c>checkpoints</c> lists the job's checkpoints and
    /// <c>inspect</c> shows what a checkpoint or savepoint holds (the read side of a State Processor
    /// API). Neither writes or deletes anything, so both may run next to the job.
    /// </summary>
    internal static class InspectionCommandLine
    {
        /// <summary>Adds <c>checkpoints</c> and <c>inspect</c> to <paramref name="root"/>.</summary>
        public static void AddTo(RootCommand root, JobDefinition job)
        {
            root.Subcommands.Add(CreateCheckpointsCommand(job));
            root.Subcommands.Add(CreateInspectCommand());
        }

        private static Command CreateCheckpointsCommand(JobDefinition job)
        {
            var directory = new Option<string>("--checkpoint-dir")
            {
                Description = "The checkpoint directory given to 'run' (the job's checkpoints are in its subdirectory named after the job).",
                Required = true,
            };
            var json = new Option<bool>("--json") { Description = "Print JSON instead of a table." };
            var command = new Command("checkpoints", $"List the checkpoints of job '{job.Name}', newest first: sizes, durations, and which one a restart restores. Read-only.");
            command.Options.Add(directory);
            command.Options.Add(json);
            command.SetAction(result =>
            {
                TextWriter output = result.InvocationConfiguration.Output;
                return Report(result.InvocationConfiguration.Error, () =>
                {
                    CheckpointList list = CheckpointListing.Read(result.GetValue(directory)!, job.Name);
                    output.Write(result.GetValue(json) ? CheckpointListing.ToJson(list) + Environment.NewLine : CheckpointListing.ToText(list));
                    return JobHost.ExitSuccess;
                });
            });
            return command;
        }

        private static Command CreateInspectCommand()
        {
            var path = new Argument<string>("path")
            {
                Description = "A checkpoint directory (<checkpoint-dir>/<job>/chk-<id>), its _metadata, or a savepoint directory.",
            };
            var operatorId = new Option<string?>("--operator") { Description = "Dump this operator's state as JSON: each key's state values, operator-state entries." };
            var state = new Option<string?>("--state") { Description = "With --operator: only this state (by name)." };
            var limit = new Option<long?>("--limit") { Description = "With --operator: print at most this many keys." };
            var json = new Option<bool>("--json") { Description = "Print the overview as JSON (--operator always prints JSON)." };
            var command = new Command("inspect", "Show what a checkpoint or savepoint holds: operators, subtasks, key groups, state files and sizes, keyed states and key counts; or one operator's state. Read-only.");
            command.Arguments.Add(path);
            command.Options.Add(operatorId);
            command.Options.Add(state);
            command.Options.Add(limit);
            command.Options.Add(json);
            command.Validators.Add(result =>
            {
                if (result.GetValue(state) is not null && result.GetValue(operatorId) is null)
                {
                    result.AddError("--state needs --operator: a state is named within an operator.");
                }

                if (result.GetValue(limit) is < 0)
                {
                    result.AddError($"--limit must be at least 0 (got {result.GetValue(limit)}).");
                }
            });
            command.SetAction(result =>
            {
                TextWriter output = result.InvocationConfiguration.Output;
                return Report(result.InvocationConfiguration.Error, () =>
                {
                    StateInspector inspector = StateInspector.Open(result.GetValue(path)!);
                    if (result.GetValue(operatorId) is { } id)
                    {
                        inspector.Dump(id, result.GetValue(state), result.GetValue(limit), output);
                        return JobHost.ExitSuccess;
                    }

                    StateSummary summary = inspector.Summarize();
                    output.Write(result.GetValue(json) ? StateInspector.ToJson(summary) + Environment.NewLine : StateInspector.ToText(summary));
                    foreach (OperatorSummary op in summary.Operators)
                    {
                        foreach (SubtaskSummary subtask in op.Subtasks)
                        {
                            if (subtask.Problem is not null)
                            {
                                return JobHost.ExitFailure;
                            }
                        }
                    }

                    return JobHost.ExitSuccess;
                });
            });
            return command;
        }

        private static int Report(TextWriter error, Func<int> action)
        {
            try
            {
                return action();
            }
            catch (InspectionException e)
            {
                error.WriteLine(e.Message);
            }
            catch (CheckpointCorruptException e)
            {
                error.WriteLine(e.Message);
            }
            catch (CheckpointStorageException e)
            {
                error.WriteLine(e.Message);
            }

            return JobHost.ExitFailure;
        }
    }
}
