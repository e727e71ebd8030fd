using System.Text;

namespace Weir.Generator.Helpers
{
    /// <summary>
    /// The stable operator hash: FNV-1a 64-bit of the explicit ID's UTF-8 bytes. Must equal
    /// Weir.OperatorIds.Hash in the runtime (a test checks both on the same IDs).
    /// </summary>
    internal static class StableHash
    {
        public static ulong OperatorHash(string explicitId)
        {
            ulong hash = 0xcbf29ce484222325UL;
            foreach (byte b in Encoding.UTF8.GetBytes(explicitId))
            {
                hash ^= b;
                hash *= 0x100000001b3UL;
            }

            return hash;
        }
    }
}
