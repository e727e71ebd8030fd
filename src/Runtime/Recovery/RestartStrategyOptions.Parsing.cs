using System;
using System.Collections.Generic;
using System.Globalization;
using Weir.Hosting;

namespace Weir.Recovery
{
    public abstract partial record RestartStrategyOptions
    {
        private const string StrategyNames = "none, fixed-delay, failure-rate or exponential-delay";
        private const string FixedDelayKeys = "attempts, delay";
        private const string FailureRateKeys = "max-failures, interval, delay";
        private const string ExponentialDelayKeys = "initial, max, multiplier, reset, jitter, attempts";

        /// <summary>
        /// Reads a restart strategy from one command-line value: a strategy name, optionally followed by
        /// ':' and comma-separated key=value settings. Settings left out keep their defaults. Names and keys
        /// are case-insensitive; durations are read by <see cref="Duration.TryParse(string, out TimeSpan, out string)"/>.
        /// <list type="bullet">
        /// <item><c>none</c></item>
        /// <item><c>fixed-delay:attempts=3,delay=10s</c> (attempts may be <c>unlimited</c>)</item>
        /// <item><c>failure-rate:max-failures=3,interval=5m,delay=10s</c></item>
        /// <item><c>exponential-delay:initial=1s,max=5m,multiplier=2,reset=1h,jitter=0.1,attempts=10</c> (attempts may be <c>unlimited</c>)</item>
        /// </list>
        /// On failure <paramref name="error"/> names the wrong part and, for an unknown key, lists the valid ones.
        /// </summary>
        public static bool TryParse(string? text, out RestartStrategyOptions options, out string error)
        {
            options = NoRestartOptions.Instance;
            string value = (text ?? "").Trim();
            if (value.Length == 0)
            {
                error = $"a restart strategy is required: {StrategyNames} (e.g. fixed-delay:attempts=3,delay=10s)";
                return false;
            }

            int colon = value.IndexOf(':');
            string name = (colon < 0 ? value : value[..colon]).Trim().ToLowerInvariant();
            string settingsText = colon < 0 ? "" : value[(colon + 1)..];
            if (!TryReadSettings(name, settingsText, out List<(string Key, string Value)> settings, out error))
            {
                return false;
            }

            RestartStrategyOptions? parsed = name switch
            {
                "none" => ParseNone(settings, out error),
                "fixed-delay" => ParseFixedDelay(settings, out error),
                "failure-rate" => ParseFailureRate(settings, out error),
                "exponential-delay" => ParseExponentialDelay(settings, out error),
                _ => Unknown(name, out error),
            };
            if (parsed is null)
            {
                return false;
            }

            string? invalid = parsed.Validate();
            if (invalid is not null)
            {
                error = $"restart strategy {parsed.Name}: {invalid}";
                return false;
            }

            options = parsed;
            error = "";
            return true;
        }

        private static RestartStrategyOptions? Unknown(string name, out string error)
        {
            error = $"unknown restart strategy '{name}'; use {StrategyNames}";
            return null;
        }

        /// <summary>Splits "k=v,k=v" into pairs, rejecting empty parts, missing values and repeated keys.</summary>
        private static bool TryReadSettings(string strategy, string text, out List<(string Key, string Value)> settings, out string error)
        {
            settings = [];
            error = "";
            if (text.Trim().Length == 0)
            {
                return true;
            }

            foreach (string part in text.Split(','))
            {
                int equals = part.IndexOf('=');
                string key = (equals < 0 ? part : part[..equals]).Trim().ToLowerInvariant();
                string value = equals < 0 ? "" : part[(equals + 1)..].Trim();
                if (key.Length == 0)
                {
                    error = $"restart strategy {strategy}: empty setting in '{text}'; write key=value pairs separated by commas";
                    return false;
                }

                if (equals < 0 || value.Length == 0)
                {
                    error = $"restart strategy {strategy}: setting '{key}' needs a value: write {key}=<value>";
                    return false;
                }

                if (settings.Exists(setting => setting.Key == key))
                {
                    error = $"restart strategy {strategy}: setting '{key}' is given twice";
                    return false;
                }

                settings.Add((key, value));
            }

            return true;
        }

        private static RestartStrategyOptions? ParseNone(List<(string Key, string Value)> settings, out string error)
        {
            if (settings.Count > 0)
            {
                error = $"restart strategy none takes no settings (got '{settings[0].Key}={settings[0].Value}')";
                return null;
            }

            error = "";
            return NoRestartOptions.Instance;
        }

        private static RestartStrategyOptions? ParseFixedDelay(List<(string Key, string Value)> settings, out string error)
        {
            var options = new FixedDelayRestartOptions();
            foreach ((string key, string value) in settings)
            {
                bool ok = key switch
                {
                    "attempts" => TryCount("fixed-delay", key, value, allowUnlimited: true, out int attempts, out error) && Set(ref options, options with { Attempts = attempts }),
                    "delay" => TryDuration("fixed-delay", key, value, out TimeSpan delay, out error) && Set(ref options, options with { Delay = delay }),
                    _ => UnknownKey("fixed-delay", key, FixedDelayKeys, out error),
                };
                if (!ok)
                {
                    return null;
                }
            }

            error = "";
            return options;
        }

        private static RestartStrategyOptions? ParseFailureRate(List<(string Key, string Value)> settings, out string error)
        {
            var options = new FailureRateRestartOptions();
            foreach ((string key, string value) in settings)
            {
                bool ok = key switch
                {
                    "max-failures" => TryCount("failure-rate", key, value, allowUnlimited: false, out int maxFailures, out error) && Set(ref options, options with { MaxFailures = maxFailures }),
                    "interval" => TryDuration("failure-rate", key, value, out TimeSpan interval, out error) && Set(ref options, options with { Interval = interval }),
                    "delay" => TryDuration("failure-rate", key, value, out TimeSpan delay, out error) && Set(ref options, options with { Delay = delay }),
                    _ => UnknownKey("failure-rate", key, FailureRateKeys, out error),
                };
                if (!ok)
                {
                    return null;
                }
            }

            error = "";
            return options;
        }

        private static RestartStrategyOptions? ParseExponentialDelay(List<(string Key, string Value)> settings, out string error)
        {
            var options = new ExponentialDelayRestartOptions();
            foreach ((string key, string value) in settings)
            {
                bool ok = key switch
                {
                    "initial" => TryDuration("exponential-delay", key, value, out TimeSpan initial, out error) && Set(ref options, options with { InitialBackoff = initial }),
                    "max" => TryDuration("exponential-delay", key, value, out TimeSpan max, out error) && Set(ref options, options with { MaxBackoff = max }),
                    "multiplier" => TryNumber("exponential-delay", key, value, out double multiplier, out error) && Set(ref options, options with { Multiplier = multiplier }),
                    "reset" => TryDuration("exponential-delay", key, value, out TimeSpan reset, out error) && Set(ref options, options with { ResetBackoffThreshold = reset }),
                    "jitter" => TryNumber("exponential-delay", key, value, out double jitter, out error) && Set(ref options, options with { JitterFactor = jitter }),
                    "attempts" => TryCount("exponential-delay", key, value, allowUnlimited: true, out int attempts, out error) && Set(ref options, options with { AttemptsBeforeReset = attempts }),
                    _ => UnknownKey("exponential-delay", key, ExponentialDelayKeys, out error),
                };
                if (!ok)
                {
                    return null;
                }
            }

            error = "";
            return options;
        }

        /// <summary>Lets a switch arm both parse and assign: always true.</summary>
        private static bool Set<T>(ref T target, T value)
        {
            target = value;
            return true;
        }

        private static bool UnknownKey(string strategy, string key, string validKeys, out string error)
        {
            error = $"restart strategy {strategy} has no setting '{key}'; valid settings: {validKeys}";
            return false;
        }

        private static bool TryCount(string strategy, string key, string value, bool allowUnlimited, out int count, out string error)
        {
            if (allowUnlimited && value.Equals("unlimited", StringComparison.OrdinalIgnoreCase))
            {
                count = int.MaxValue;
                error = "";
                return true;
            }

            if (!int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out count))
            {
                error = $"restart strategy {strategy}: {key}={value} is not a whole number{(allowUnlimited ? " or 'unlimited'" : "")}";
                return false;
            }

            error = "";
            return true;
        }

        private static bool TryNumber(string strategy, string key, string value, out double number, out string error)
        {
            if (!double.TryParse(value, NumberStyles.AllowDecimalPoint | NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out number))
            {
                error = $"restart strategy {strategy}: {key}={value} is not a number (e.g. {key}=1.5)";
                return false;
            }

            error = "";
            return true;
        }

        private static bool TryDuration(string strategy, string key, string value, out TimeSpan duration, out string error)
        {
            if (!Duration.TryParse(value, out duration, out string durationError))
            {
                error = $"restart strategy {strategy}: {key}={value}: {durationError}";
                return false;
            }

            error = "";
            return true;
        }
    }
}
