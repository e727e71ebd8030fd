using System;

namespace Weir
{
    /// <summary>
    /// Marks a <c>static partial class</c> as a Weir job. The class must contain exactly one method
    /// marked <see cref="PipelineAttribute"/>; Weir.Generator compiles that method into fused operator
    /// chains and a job entry point (<c>Run(string[] args)</c>) on the same class.
    /// </summary>
    [AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
    public sealed class JobAttribute : Attribute
    {
        /// <summary>Creates the attribute.</summary>
        /// <param name="name">The job's name, used in logs and as the default name of its binary's commands.</param>
        public JobAttribute(string name) => Name = name;

        /// <summary>The job's name.</summary>
        public string Name { get; }
    }

    /// <summary>
    /// Marks the static method that declares a job's dataflow. The method is a declaration read by the
    /// generator at build time, never executed: its first parameter is a <c>Weir.PipelineBuilder</c>,
    /// its other parameters become the job's command-line options (<c>string input</c> becomes
    /// <c>--input</c>; a parameter with a default value is optional).
    /// </summary>
    [AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
    public sealed class PipelineAttribute : Attribute
    {
    }

    /// <summary>
    /// Marks a field of a keyed function (<c>ValueState&lt;T&gt;</c>, ...) as keyed state. The name is
    /// the state's stable identity inside its operator: renaming the field keeps the state, renaming
    /// the state loses it. Without a name the field name (without a leading underscore) is used.
    /// </summary>
    [AttributeUsage(AttributeTargets.Field, AllowMultiple = false, Inherited = false)]
    public sealed class StateAttribute : Attribute
    {
        /// <summary>Uses the field's name (minus a leading underscore) as the state name.</summary>
        public StateAttribute() => Name = null;

        /// <summary>Uses <paramref name="name"/> as the state name.</summary>
        public StateAttribute(string name) => Name = name;

        /// <summary>The explicit state name, or null to derive it from the field.</summary>
        public string? Name { get; }

        /// <summary>
        /// Processing-time time-to-live, e.g. <c>"30s"</c>, <c>"10m"</c>, <c>"1h"</c>, <c>"7d"</c> or
        /// <c>"250ms"</c>: a value (a list element, a map entry) not written (or, with
        /// <see cref="StateTtlUpdate.OnReadAndWrite"/>, not read or written) for that long expires.
        /// Checked at build time. Null (the default) keeps values until cleared.
        /// </summary>
        public string? TimeToLive { get; set; }

        /// <summary>Which accesses restart a value's time-to-live (default: creation and writes).</summary>
        public StateTtlUpdate TtlUpdate { get; set; } = StateTtlUpdate.OnCreateAndWrite;

        /// <summary>Whether an expired value that was not yet cleaned up may still be read (default: never).</summary>
        public StateTtlVisibility TtlVisibility { get; set; } = StateTtlVisibility.NeverReturnExpired;

        /// <summary>
        /// Background cleanup: how many stored keys the operator checks for expired values per record
        /// it processes (Flink's incremental cleanup; default 5, 0 turns it off and leaves only
        /// cleanup on read).
        /// </summary>
        public int TtlCleanupPerRecord { get; set; } = 5;
    }

    /// <summary>Which state accesses restart a value's time-to-live (Flink's StateTtlConfig.UpdateType).</summary>
    public enum StateTtlUpdate
    {
        /// <summary>Creating or writing a value restarts its time-to-live; reads do not.</summary>
        OnCreateAndWrite,

        /// <summary>Reads restart the time-to-live too.</summary>
        OnReadAndWrite,
    }

    /// <summary>Whether expired values may be read before they are cleaned up (Flink's StateVisibility).</summary>
    public enum StateTtlVisibility
    {
        /// <summary>An expired value is never returned, even if it is still stored.</summary>
        NeverReturnExpired,

        /// <summary>An expired value is returned if it has not been cleaned up yet (it is removed by that read).</summary>
        ReturnExpiredIfNotCleanedUp,
    }
}
