using System;

namespace Weir.State
{
    /// <summary>
    /// A state snapshot cannot be restored: it is truncated, corrupt, of an unknown format version,
    /// or was written by a different kind of state.
    /// </summary>
    public sealed class StateSnapshotException : Exception
    {
        /// <summary>Creates the exception for the state <paramref name="stateName"/>.</summary>
        public StateSnapshotException(string stateName, string message, Exception? innerException = null)
            : base(message, innerException)
            => StateName = stateName;

        /// <summary>The name of the state whose snapshot was refused.</summary>
        public string StateName { get; }
    }
}
