using System;

namespace Weir.Time
{
    /// <summary>
    /// Combines the watermarks and idle statuses of a subtask's input channels into the subtask's own
    /// event time (Flink's StatusWatermarkValve): the minimum over the channels that are active, never
    /// moving backwards. An idle channel does not hold event time back; when every channel is idle, the
    /// subtask is idle too. A channel that becomes active again only counts once its watermark has
    /// caught up with the combined one, so a waking split cannot pull event time back.
    /// </summary>
    internal sealed class WatermarkValve
    {
        private readonly long[] _watermarks;
        private readonly bool[] _idle;
        private readonly bool[] _aligned;
        private long _combined = Watermarks.NoTimestamp;
        private bool _allIdle;

        public WatermarkValve(int channels)
        {
            _watermarks = new long[channels];
            _idle = new bool[channels];
            _aligned = new bool[channels];
            Array.Fill(_watermarks, Watermarks.NoTimestamp);
            Array.Fill(_aligned, true);
        }

        /// <summary>The combined watermark emitted last.</summary>
        public long Current => _combined;

        /// <summary>Whether every channel is idle.</summary>
        public bool IsIdle => _allIdle;

        /// <summary>Channel <paramref name="channel"/> sent a watermark; true when the combined watermark advanced (see <see cref="Current"/>).</summary>
        public bool OnWatermark(int channel, long watermark)
        {
            if (watermark <= _watermarks[channel])
            {
                return false;
            }

            _watermarks[channel] = watermark;
            if (!_aligned[channel] && watermark >= _combined)
            {
                _aligned[channel] = true;
            }

            return !_idle[channel] && Recompute();
        }

        /// <summary>
        /// Channel <paramref name="channel"/> became idle or active. Returns what changed: whether the
        /// combined watermark advanced and whether the subtask's own status flipped (see <see cref="IsIdle"/>).
        /// </summary>
        public (bool Advanced, bool StatusChanged) OnStatus(int channel, bool idle)
        {
            if (_idle[channel] == idle)
            {
                return (false, false);
            }

            _idle[channel] = idle;
            bool advanced;
            if (idle)
            {
                // An idle channel no longer holds the others back.
                advanced = Recompute();
            }
            else
            {
                _aligned[channel] = _watermarks[channel] >= _combined;
                advanced = false;
            }

            bool allIdle = Array.TrueForAll(_idle, i => i);
            bool changed = allIdle != _allIdle;
            _allIdle = allIdle;
            return (advanced, changed);
        }

        private bool Recompute()
        {
            long min = long.MaxValue;
            bool any = false;
            for (int i = 0; i < _watermarks.Length; i++)
            {
                if (!_idle[i] && _aligned[i])
                {
                    any = true;
                    min = Math.Min(min, _watermarks[i]);
                }
            }

            if (any && min > _combined)
            {
                _combined = min;
                return true;
            }

            return false;
        }
    }
}
