using System;
using System.CommandLine;
using Weir.Control;

namespace Weir.Hosting
{
    /// <summary>
    /// The job-control commands of every job binary: <c>savepoint</c>, <c>stop</c> and <c>cancel</c>
    /// talk to the job running on a checkpoint directory through its control endpoint
    /// (<see cref="JobControlProtocol"/>). Results go to standard output (the savepoint path is the
    /// last line), errors to standard error with a non-zero exit code.
    /// </summary>
    internal static class JobControlCommands
    {
        /// <summary>Adds the commands for <paramref name="job"/> to <paramref name="root"/>.</summary>
        public static void AddTo(RootCommand root, JobDefinition job)
        {
            root.Subcommands.Add(Savepoint(job));
            root.Subcommands.Add(Stop(job));
            root.Subcommands.Add(Cancel(job));
        }

        private static Option<string> CheckpointDirectory() => new("--checkpoint-dir")
        {
            Description = "The --checkpoint-dir the running job was started with (its control endpoint is <dir>/<job>/_control.sock).",
            Required = true,
        };

        private static Option<string?> Target() => new("--target")
        {
            Description = "Directory in which the savepoint's own directory savepoint-<id>-<time> is created (default: <checkpoint-dir>/<job>/savepoints). " +
                "Weir never deletes savepoints.",
        };

        private static Command Savepoint(JobDefinition job)
        {
            var directory = CheckpointDirectory();
            var target = Target();
            var command = new Command("savepoint", $"Take a savepoint of the running job '{job.Name}' and print its directory (for run --from-savepoint). The job keeps running.");
            command.Options.Add(directory);
            command.Options.Add(target);
            command.SetAction(result => Send(job, result.GetValue(directory)!, client => client.TriggerSavepoint(result.GetValue(target))));
            return command;
        }

        private static Command Stop(JobDefinition job)
        {
            var directory = CheckpointDirectory();
            var target = Target();
            var withSavepoint = new Option<bool>("--with-savepoint")
            {
                Description = "Take a savepoint, then stop (required: a stop always leaves a savepoint to resume from; use cancel to stop without one).",
            };
            var drain = new Option<bool>("--drain")
            {
                Description = "End the input first and let the job process and commit everything in flight, then take the savepoint as its final checkpoint " +
                    "(for a job that will not be resumed, or resumed with a changed pipeline). Without it the job stops right after the savepoint, without ending its input.",
            };
            var command = new Command("stop", $"Stop the running job '{job.Name}' with a savepoint; prints the savepoint's directory once the job has stopped.");
            command.Options.Add(directory);
            command.Options.Add(withSavepoint);
            command.Options.Add(target);
            command.Options.Add(drain);
            command.Validators.Add(result =>
            {
                if (!result.GetValue(withSavepoint))
                {
                    result.AddError("stop needs --with-savepoint (to stop without a savepoint, use cancel).");
                }
            });
            command.SetAction(result => Send(job, result.GetValue(directory)!, client => client.StopWithSavepoint(result.GetValue(target), result.GetValue(drain))));
            return command;
        }

        private static Command Cancel(JobDefinition job)
        {
            var directory = CheckpointDirectory();
            var command = new Command("cancel", $"Cancel the running job '{job.Name}': every subtask stops at once, nothing more is committed; its checkpoints are deleted unless it runs with --retain-on-cancel.");
            command.Options.Add(directory);
            command.SetAction(result => Send(job, result.GetValue(directory)!, client =>
            {
                client.Cancel();
                return "cancelled";
            }));
            return command;
        }

        private static int Send(JobDefinition job, string checkpointDirectory, Func<JobControlClient, string> request)
        {
            try
            {
                string answer = request(new JobControlClient(checkpointDirectory, job.Name));
                Console.Out.WriteLine(answer);
                return JobHost.ExitSuccess;
            }
            catch (Exception ex) when (ex is JobControlException or ArgumentException)
            {
                Console.Error.WriteLine($"error: {ex.Message}");
                return JobHost.ExitFailure;
            }
        }
    }
}
