using System;
using System.Text;

namespace Weir.State
{
    /// <summary>Type names as a C# user writes them (<c>BroadcastState&lt;String, Int64&gt;</c>), for error messages.</summary>
    internal static class TypeNames
    {
        public static string Display(Type type)
        {
            if (!type.IsGenericType)
            {
                return type.Name;
            }

            var text = new StringBuilder();
            string name = type.Name;
            int tick = name.IndexOf('`');
            text.Append(tick < 0 ? name : name.Substring(0, tick)).Append('<');
            Type[] arguments = type.GetGenericArguments();
            for (int i = 0; i < arguments.Length; i++)
            {
                text.Append(i == 0 ? string.Empty : ", ").Append(Display(arguments[i]));
            }

            return text.Append('>').ToString();
        }
    }
}
