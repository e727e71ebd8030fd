using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Weir.Checkpointing.Storage;

namespace Weir.Checkpointing.Subtasks
{
    /// <summary>The completed checkpoint a run restores from: its operators' state by operator ID, and a way to read its files.</summary>
    internal sealed class RestoredCheckpoint
    {
        private readonly Dictionary<string, OperatorStateMetadata> _operators;
        private readonly CheckpointCatalog _catalog;

        public RestoredCheckpoint(CompletedCheckpoint checkpoint, CheckpointCatalog catalog)
        {
            CheckpointId = checkpoint.CheckpointId;
            MaxParallelism = checkpoint.Metadata.MaxParallelism;
            _operators = checkpoint.Metadata.Operators.ToDictionary(o => o.OperatorId, StringComparer.Ordinal);
            _catalog = catalog;
        }

        public long CheckpointId { get; }

        public int MaxParallelism { get; }

        public OperatorStateMetadata? Operator(string operatorId) => _operators.GetValueOrDefault(operatorId);

        public Stream Open(StateFileReference file) => _catalog.OpenStateFile(file);
    }
}
