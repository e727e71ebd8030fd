using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using Weir.Execution;

namespace Weir.Hosting
{
    /// <summary>
    /// A compiled job: its name, its command-line parameters, its state schema and how to build its
    /// plan. Emitted by Weir.Generator.
    /// </summary>
    public sealed class JobDefinition
    {
        private readonly Func<JobArguments, JobPlan> _createPlan;

        /// <summary>Creates a definition.</summary>
        /// <param name="name">The job's name.</param>
        /// <param name="parameters">The job's own parameters.</param>
        /// <param name="createPlan">Builds the plan for a set of arguments.</param>
        /// <param name="stateManifest">
        /// The job's state schema (the generated <c>StateManifest</c>); null for a definition written by
        /// hand, whose binary then has no <c>state-manifest</c> output.
        /// </param>
        public JobDefinition(string name, IReadOnlyList<JobParameter> parameters, Func<JobArguments, JobPlan> createPlan, State.Schema.StateManifest? stateManifest = null)
        {
            Name = name;
            Parameters = parameters;
            _createPlan = createPlan;
            StateManifest = stateManifest;
        }

        /// <summary>The job's name.</summary>
        public string Name { get; }

        /// <summary>The job's own parameters (the pipeline method's parameters after the builder).</summary>
        public IReadOnlyList<JobParameter> Parameters { get; }

        /// <summary>
        /// The job's state schema, known without building a plan (so without the job's required
        /// parameters): what the <c>state-manifest</c> command prints.
        /// </summary>
        public State.Schema.StateManifest? StateManifest { get; }

        /// <summary>Builds the plan for a set of arguments.</summary>
        public JobPlan CreatePlan(JobArguments arguments) => _createPlan(arguments);
    }

    /// <summary>One job parameter, exposed as a command-line option.</summary>
    public abstract class JobParameter
    {
        private protected JobParameter(string name, string optionName, string? description, bool required)
        {
            Name = name;
            OptionName = optionName;
            Description = description;
            Required = required;
        }

        /// <summary>The pipeline method's parameter name.</summary>
        public string Name { get; }

        /// <summary>The option, e.g. <c>--input</c>.</summary>
        public string OptionName { get; }

        /// <summary>Help text.</summary>
        public string? Description { get; }

        /// <summary>Whether the option must be given.</summary>
        public bool Required { get; }

        internal abstract Option CreateOption();

        internal abstract object? Read(ParseResult result, Option option);
    }

    /// <summary>A typed job parameter.</summary>
    public sealed class JobParameter<T> : JobParameter
    {
        private readonly T _defaultValue;

        /// <summary>A required parameter.</summary>
        public JobParameter(string name, string optionName, string? description)
            : base(name, optionName, description, required: true)
            => _defaultValue = default!;

        /// <summary>An optional parameter with a default value.</summary>
        public JobParameter(string name, string optionName, string? description, T defaultValue)
            : base(name, optionName, description, required: false)
            => _defaultValue = defaultValue;

        internal override Option CreateOption()
        {
            var option = new Option<T>(OptionName)
            {
                Description = Description ?? $"The job parameter '{Name}'.",
                Required = Required,
            };
            if (!Required)
            {
                T value = _defaultValue;
                option.DefaultValueFactory = _ => value;
            }

            return option;
        }

        internal override object? Read(ParseResult result, Option option) => result.GetValue((Option<T>)option);
    }

    /// <summary>The values of a job's parameters, by parameter name.</summary>
    public sealed class JobArguments
    {
        private readonly Dictionary<string, object?> _values = new(StringComparer.Ordinal);

        /// <summary>Sets a value.</summary>
        public JobArguments Set(string name, object? value)
        {
            _values[name] = value;
            return this;
        }

        /// <summary>Reads a value.</summary>
        public T Get<T>(string name)
        {
            if (!_values.TryGetValue(name, out object? value))
            {
                throw new ArgumentException($"The job parameter '{name}' was not given.", name);
            }

            return value is T typed ? typed : (T)Convert.ChangeType(value!, typeof(T), CultureInfo.InvariantCulture);
        }
    }
}
