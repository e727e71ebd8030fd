using System.Diagnostics.CodeAnalysis;

namespace Weir
{
    /// <summary>
    /// Read access to a <see cref="BroadcastState{TKey, TValue}"/>: what the non-broadcast (keyed) side
    /// of a broadcast-connected operator receives. Only the broadcast side may change the state, so that
    /// every subtask's copy stays identical; this type has no member that changes it.
    /// </summary>
    /// <typeparam name="TKey">The type of the keys.</typeparam>
    /// <typeparam name="TValue">The type of the values.</typeparam>
    public sealed class ReadOnlyBroadcastState<TKey, TValue>
        where TKey : notnull
    {
        private readonly BroadcastState<TKey, TValue> _state;

        internal ReadOnlyBroadcastState(BroadcastState<TKey, TValue> state) => _state = state;

        /// <summary>The writable state behind this view, handed out only by <see cref="BroadcastContext.GetBroadcastState{TKey, TValue}"/>.</summary>
        internal BroadcastState<TKey, TValue> State => _state;

        /// <summary>The state's name.</summary>
        public string Name => _state.Name;

        /// <summary>The number of entries.</summary>
        public int Count => _state.Count;

        /// <summary>Reads the value of <paramref name="key"/> if it has an entry.</summary>
        public bool TryGetValue(TKey key, [MaybeNullWhen(false)] out TValue value) => _state.TryGetValue(key, out value);

        /// <summary>Whether <paramref name="key"/> has an entry.</summary>
        public bool Contains(TKey key) => _state.Contains(key);

        /// <summary>Enumerates the entries without allocating.</summary>
        public BroadcastState<TKey, TValue>.Enumerator GetEnumerator() => _state.GetEnumerator();
    }
}
