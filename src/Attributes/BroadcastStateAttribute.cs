using System;

namespace Weir
{
    /// <summary>
    /// Names a broadcast state field (<c>ReadOnlyBroadcastState&lt;TKey, TValue&gt;</c>) of a keyed
    /// broadcast process function. The name is the state's stable identity inside its operator, as
    /// for <see cref="StateAttribute"/>; without the attribute the field name (without a leading
    /// underscore) is used. Broadcast state has no time-to-live: it holds rules, which the broadcast
    /// side replaces or removes explicitly.
    /// </summary>
    [AttributeUsage(AttributeTargets.Field, AllowMultiple = false, Inherited = false)]
    public sealed class BroadcastStateAttribute : Attribute
    {
        /// <summary>Uses the field's name (minus a leading underscore) as the state name.</summary>
        public BroadcastStateAttribute() => Name = null;

        /// <summary>Uses <paramref name="name"/> as the state name.</summary>
        public BroadcastStateAttribute(string name) => Name = name;

        /// <summary>The explicit state name, or null to derive it from the field.</summary>
        public string? Name { get; }
    }
}
