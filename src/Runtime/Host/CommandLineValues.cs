using System;
using System.CommandLine;
using System.CommandLine.Parsing;
using Weir.Recovery;

namespace Weir.Hosting
{
    /// <summary>
    /// <see cref="Option{T}.CustomParser"/> functions for values System.CommandLine does not read itself,
    /// so that a bad value is reported by the parser with the option's name, like any other parse error:
    /// <code>
    /// var interval = new Option&lt;TimeSpan&gt;("--checkpoint-interval") { CustomParser = CommandLineValues.ParseDuration };
    /// var restart = new Option&lt;RestartStrategyOptions?&gt;("--restart-strategy") { CustomParser = CommandLineValues.ParseRestartStrategy };
    /// </code>
    /// </summary>
    public static class CommandLineValues
    {
        /// <summary>Reads the option's one token with <see cref="Duration.TryParse(string, out TimeSpan, out string)"/>; on failure adds the error to the result.</summary>
        public static TimeSpan ParseDuration(ArgumentResult result)
        {
            ArgumentNullException.ThrowIfNull(result);
            if (!TrySingleToken(result, out string text))
            {
                return TimeSpan.Zero;
            }

            if (!Duration.TryParse(text, out TimeSpan duration, out string error))
            {
                result.AddError($"{OptionName(result)}: {error}");
            }

            return duration;
        }

        /// <summary>Reads the option's one token with <see cref="RestartStrategyOptions.TryParse"/>; on failure adds the error to the result and returns null.</summary>
        public static RestartStrategyOptions? ParseRestartStrategy(ArgumentResult result)
        {
            ArgumentNullException.ThrowIfNull(result);
            if (!TrySingleToken(result, out string text))
            {
                return null;
            }

            if (!RestartStrategyOptions.TryParse(text, out RestartStrategyOptions options, out string error))
            {
                result.AddError($"{OptionName(result)}: {error}");
                return null;
            }

            return options;
        }

        private static bool TrySingleToken(ArgumentResult result, out string text)
        {
            if (result.Tokens.Count != 1)
            {
                result.AddError($"{OptionName(result)} takes exactly one value (got {result.Tokens.Count}).");
                text = "";
                return false;
            }

            text = result.Tokens[0].Value;
            return true;
        }

        private static string OptionName(ArgumentResult result)
            => result.Parent is OptionResult option ? option.Option.Name : result.Argument.Name;
    }
}
