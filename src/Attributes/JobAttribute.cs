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
    }
}
