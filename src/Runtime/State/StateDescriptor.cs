using System;

namespace Weir.State
{
    /// <summary>The kinds of keyed state.</summary>
    public enum KeyedStateKind
    {
        /// <summary><see cref="ValueState{T}"/>.</summary>
        Value,

        /// <summary><see cref="ListState{T}"/>.</summary>
        List,

        /// <summary><see cref="MapState{TKey, TValue}"/>.</summary>
        Map,

        /// <summary><see cref="ReducingState{T, TReduce}"/>.</summary>
        Reducing,

        /// <summary><see cref="AggregatingState{TIn, TAcc, TOut, TAggregate}"/>.</summary>
        Aggregating,
    }

    /// <summary>
    /// Processing-time time-to-live of one state, as Flink's StateTtlConfig: expired values are never
    /// returned (or returned until cleaned up), removed when read, and found by incremental background
    /// cleanup that checks a few stored keys per processed record.
    /// </summary>
    /// <param name="TimeToLive">How long a value lives after its last update (or access).</param>
    /// <param name="Update">Which accesses restart the time-to-live.</param>
    /// <param name="Visibility">Whether expired values that are still stored may be read.</param>
    /// <param name="CleanupPerRecord">Stored keys checked for expired values per processed record (0: only on read).</param>
    public sealed record StateTtl(TimeSpan TimeToLive, StateTtlUpdate Update = StateTtlUpdate.OnCreateAndWrite, StateTtlVisibility Visibility = StateTtlVisibility.NeverReturnExpired, int CleanupPerRecord = 5)
    {
        /// <summary>The time-to-live in whole milliseconds (at least 1).</summary>
        internal long Milliseconds => Math.Max(1, (long)TimeToLive.TotalMilliseconds);

        /// <summary>Whether a value last stamped at <paramref name="stamp"/> has expired at <paramref name="now"/>.</summary>
        internal bool IsExpired(long stamp, long now) => now - stamp >= Milliseconds;

        internal bool UpdateOnRead => Update == StateTtlUpdate.OnReadAndWrite;

        internal bool ReturnExpired => Visibility == StateTtlVisibility.ReturnExpiredIfNotCleanedUp;
    }

    /// <summary>
    /// What the generated code knows about one declared keyed state: its name (its identity inside the
    /// operator), its kind, the type names of its contents (for error messages and the state
    /// manifest) and its time-to-live.
    /// </summary>
    /// <param name="Name">The state's name, unique within its operator.</param>
    /// <param name="Kind">The kind of state.</param>
    /// <param name="TypeName">The C# type of the state field, e.g. <c>ValueState&lt;long&gt;</c>.</param>
    /// <param name="Ttl">The time-to-live, or null.</param>
    public sealed record StateDescriptor(string Name, KeyedStateKind Kind, string TypeName, StateTtl? Ttl = null);
}
