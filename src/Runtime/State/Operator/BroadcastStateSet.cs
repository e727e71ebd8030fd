using System;
using System.Collections.Generic;

namespace Weir.State
{
    /// <summary>
    /// The broadcast states declared by one operator subtask, by name. Generated code gets each state
    /// by its descriptor's name: the broadcast side as a <see cref="BroadcastState{TKey, TValue}"/>, the
    /// other side as its <see cref="ReadOnlyBroadcastState{TKey, TValue}"/>; both sides of one subtask
    /// share the same instance. Checkpointing walks <see cref="States"/>.
    /// </summary>
    public sealed class BroadcastStateSet
    {
        private readonly List<OperatorState> _states = new();
        private readonly Dictionary<string, OperatorState> _byName = new(StringComparer.Ordinal);

        /// <summary>Creates the empty set of one operator subtask.</summary>
        /// <param name="operatorId">The operator that owns the states (for error messages).</param>
        public BroadcastStateSet(string operatorId)
        {
            ArgumentException.ThrowIfNullOrEmpty(operatorId);
            OperatorId = operatorId;
        }

        /// <summary>The operator that owns the states.</summary>
        public string OperatorId { get; }

        /// <summary>The declared states, in declaration order.</summary>
        public IReadOnlyList<OperatorState> States => _states;

        /// <summary>
        /// Gets the broadcast state named <paramref name="name"/>, declaring it on first use. The
        /// serializers are used only when the state is declared.
        /// </summary>
        /// <exception cref="InvalidOperationException">The name is already declared with other key or value types.</exception>
        public BroadcastState<TKey, TValue> GetOrCreate<TKey, TValue>(
            string name,
            IStateSerializer<TKey> keySerializer,
            IStateSerializer<TValue> valueSerializer)
            where TKey : notnull
        {
            ArgumentException.ThrowIfNullOrEmpty(name);
            if (_byName.TryGetValue(name, out OperatorState? existing))
            {
                return existing as BroadcastState<TKey, TValue> ?? throw new InvalidOperationException(
                    $"Operator '{OperatorId}' declares broadcast state '{name}' twice with different types " +
                    $"({TypeNames.Display(existing.GetType())} and {TypeNames.Display(typeof(BroadcastState<TKey, TValue>))}).");
            }

            var state = new BroadcastState<TKey, TValue>(name, keySerializer, valueSerializer);
            _states.Add(state);
            _byName.Add(name, state);
            return state;
        }

        /// <summary>Whether <paramref name="state"/> is one of this set's states (the same instance).</summary>
        public bool Owns(OperatorState state)
            => state is not null && _byName.TryGetValue(state.Name, out OperatorState? own) && ReferenceEquals(own, state);

        /// <summary>
        /// Gets the read-only view of the broadcast state named <paramref name="name"/>, declaring the
        /// state on first use (the non-broadcast side may run before any broadcast element arrives).
        /// </summary>
        /// <exception cref="InvalidOperationException">The name is already declared with other key or value types.</exception>
        public ReadOnlyBroadcastState<TKey, TValue> GetReadOnly<TKey, TValue>(
            string name,
            IStateSerializer<TKey> keySerializer,
            IStateSerializer<TValue> valueSerializer)
            where TKey : notnull
            => GetOrCreate(name, keySerializer, valueSerializer).ReadOnly;
    }
}
