using System;

namespace Weir
{
    /// <summary>
    /// Describes a job parameter (a parameter of the <see cref="PipelineAttribute"/> method) on the
    /// command line: its help text and, optionally, an option name other than the kebab-cased
    /// parameter name.
    /// </summary>
    [AttributeUsage(AttributeTargets.Parameter, AllowMultiple = false, Inherited = false)]
    public sealed class OptionAttribute : Attribute
    {
        /// <summary>Creates the attribute.</summary>
        /// <param name="description">Help text shown by <c>run --help</c>.</param>
        public OptionAttribute(string description) => Description = description;

        /// <summary>Help text shown by <c>run --help</c>.</summary>
        public string Description { get; }

        /// <summary>The option's name (with its leading dashes); null means <c>--kebab-case-parameter-name</c>.</summary>
        public string? Name { get; set; }
    }
}
