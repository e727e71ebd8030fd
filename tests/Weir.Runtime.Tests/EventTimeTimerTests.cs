using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.Extensions.Logging;
using Weir.Execution;
using Xunit;
using static Weir.Runtime.Tests.EventTimeWindowCheckpointingTests;

namespace Weir.Runtime.Tests;

/// <summary>
/// Keyed event-time timers (<see cref="TimerProbe"/>) through a failure after a checkpoint: they fire
/// in timestamp order once the watermark passes them, with their key's state current; a timer
/// registered by several records fires once; a deleted timer never fires; and timers registered before
/// the failure (the far timers, due only at the end of input) fire after the restore, exactly once.
/// </summary>
[Collection("event time jobs")]
public sealed class EventTimeTimerTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "weir-evtimers-" + Guid.NewGuid().ToString("N"));
    private readonly string _output;
    private readonly string _checkpoints;

    public EventTimeTimerTests()
    {
        _output = Path.Combine(_root, "out");
        _checkpoints = Path.Combine(_root, "checkpoints");
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    [Theory]
    [InlineData(Backend.Heap)]
    [InlineData(Backend.Faster)]
    public void Timers_fire_in_order_once_with_their_keys_state_and_survive_a_restore(Backend backend)
    {
        long failAt = EventTimeInput.Records * 6 / 10;
        EventTimeFaults.Arm(failAt);
        var logger = new RecordingLogger();

        JobResult result = new LocalExecutor(logger).Execute(EventTimeTimersJob.CreatePlan(_output), Options(_root, _checkpoints, parallelism: 2, backend));

        Assert.True(result.Completed);
        Assert.True(EventTimeFaults.Fired, $"the injected failure did not fire ({EventTimeFaults.CompletedCheckpoints} checkpoints completed, {EventTimeFaults.RecordsPassed} records passed)");
        Assert.Single(logger.Lines, l => l.Level == LogLevel.Warning && l.Message.Contains("injected event-time failure", StringComparison.Ordinal) && l.Message.Contains("restarting", StringComparison.Ordinal));
        Assert.Contains(logger.Lines, l => l.Message.Contains("resumes from checkpoint", StringComparison.Ordinal));

        TimerFired[] fired = AssertTimers(_output);

        // Far timers registered before the failure point fired after the restore.
        long firstFailureBucket = EventTimeInput.At(failAt).Ts / EventTimeInput.TimerBucketMs;
        Assert.Contains(fired, f => f.Timestamp >= EventTimeInput.FarTimer(0) && f.Timestamp < EventTimeInput.FarTimer(firstFailureBucket) - 100);
    }

    /// <summary>Checks the committed timer output against the model; returns the fired timers.</summary>
    internal static TimerFired[] AssertTimers(string output)
    {
        // The model: per key, its events' buckets and timestamps.
        TimedEvent[] events = EventTimeInput.All().ToArray();
        var byKey = events.GroupBy(e => e.Key).ToDictionary(g => g.Key, g => g.ToArray());
        var expected = new HashSet<(long Key, long Timestamp)>();
        var deleted = new HashSet<(long Key, long Timestamp)>();
        var registeredTwice = 0;
        foreach ((long key, TimedEvent[] keyEvents) in byKey)
        {
            var buckets = keyEvents.GroupBy(e => e.Ts / EventTimeInput.TimerBucketMs).ToDictionary(g => g.Key, g => g.Count());
            foreach ((long bucket, int registrations) in buckets)
            {
                expected.Add((key, EventTimeInput.NearTimer(bucket)));
                registeredTwice += registrations > 1 ? 1 : 0;
                if (bucket % 4 == 1)
                {
                    if (bucket % 8 == 1 && buckets.ContainsKey(bucket + 2))
                    {
                        deleted.Add((key, EventTimeInput.FarTimer(bucket)));
                    }
                    else
                    {
                        expected.Add((key, EventTimeInput.FarTimer(bucket)));
                    }
                }
            }
        }

        Assert.True(deleted.Count > 20, $"the model should delete timers ({deleted.Count})");
        Assert.True(registeredTwice > 100, $"the model should register timers twice ({registeredTwice})");

        // Committed output, file by file (a file holds one subtask's records of one checkpoint, in order).
        string[] files = Directory.GetFiles(output).Where(f => !Path.GetFileName(f).StartsWith('.') && !Path.GetFileName(f).StartsWith('_')).ToArray();
        var fired = new List<TimerFired>();
        foreach (string file in files)
        {
            TimerFired[] inFile = File.ReadAllLines(file).Select(TimerFired.Parse).ToArray();
            for (int i = 1; i < inFile.Length; i++)
            {
                Assert.True(inFile[i - 1].Timestamp <= inFile[i].Timestamp, $"timers out of timestamp order in {Path.GetFileName(file)}: {inFile[i - 1]} then {inFile[i]}");
            }

            fired.AddRange(inFile);
        }

        string[] duplicates = fired.GroupBy(f => (f.Key, f.Timestamp)).Where(g => g.Count() > 1).Select(g => g.Key.ToString()).Take(5).ToArray();
        Assert.True(duplicates.Length == 0, "timers fired more than once: " + string.Join(", ", duplicates));
        Assert.DoesNotContain(fired, f => deleted.Contains((f.Key, f.Timestamp)));
        var firedSet = fired.Select(f => (f.Key, f.Timestamp)).ToHashSet();
        Assert.Empty(expected.Except(firedSet).Take(5));
        Assert.Empty(firedSet.Except(expected).Take(5));

        foreach (TimerFired f in fired)
        {
            Assert.Equal(f.Key, f.StateOwner);
            Assert.True(f.Watermark >= f.Timestamp, $"{f}: fired before the watermark reached it");
            TimedEvent[] keyEvents = byKey[f.Key];
            if (f.Timestamp >= EventTimeInput.FarTimer(0))
            {
                Assert.Equal(keyEvents.Length, f.Count);
            }
            else
            {
                long due = keyEvents.Count(e => e.Ts <= f.Timestamp);
                Assert.True(f.Count >= due && f.Count <= keyEvents.Length, $"{f}: the key's state should count at least the {due} events at or before the timer");
            }
        }

        return fired.ToArray();
    }
}
