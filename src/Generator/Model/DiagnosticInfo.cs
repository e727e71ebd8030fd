using System;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;
using Weir.Generator.Helpers;

namespace Weir.Generator.Model
{
    /// <summary>A location without a syntax tree, so models hold no compilation data.</summary>
    internal sealed record LocationInfo(string FilePath, TextSpan Span, LinePositionSpan LineSpan)
    {
        public Location ToLocation() => Location.Create(FilePath, Span, LineSpan);

        public static LocationInfo? From(SyntaxNode? node)
        {
            if (node is null)
            {
                return null;
            }

            Location location = Location.Create(node.SyntaxTree, DiagnosticSpan(node));
            return location.SourceTree is null ? null : new LocationInfo(location.SourceTree.FilePath, location.SourceSpan, location.GetLineSpan().Span);
        }

        /// <summary>
        /// The part of a node a diagnostic points at: a declaration's name (not its attributes and
        /// body), and a call from its method name on (a call in a fluent chain otherwise starts at the
        /// chain's first receiver, lines above the operator it is about).
        /// </summary>
        private static TextSpan DiagnosticSpan(SyntaxNode node) => node switch
        {
            BaseTypeDeclarationSyntax type => type.Identifier.Span,
            MethodDeclarationSyntax method => method.Identifier.Span,
            InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax access } => TextSpan.FromBounds(access.Name.SpanStart, node.Span.End),
            _ => node.Span,
        };
    }

    /// <summary>An equatable diagnostic (dotnet/roslyn#68291 work-around, as in dotnet/runtime's generators).</summary>
    internal sealed record DiagnosticInfo(string DescriptorId, LocationInfo? Location, EquatableArray<string> Arguments)
    {
        public static DiagnosticInfo Create(DiagnosticDescriptor descriptor, SyntaxNode? node, params string[] arguments)
            => new(descriptor.Id, LocationInfo.From(node), new EquatableArray<string>(arguments));

        public static DiagnosticInfo At(DiagnosticDescriptor descriptor, LocationInfo? location, params string[] arguments)
            => new(descriptor.Id, location, new EquatableArray<string>(arguments));

        public Diagnostic ToDiagnostic()
        {
            DiagnosticDescriptor descriptor = Diagnostics.DiagnosticCatalog.ById(DescriptorId);
            object[] args = new object[Arguments.Count];
            for (int i = 0; i < args.Length; i++)
            {
                args[i] = Arguments[i];
            }

            return Diagnostic.Create(descriptor, Location?.ToLocation() ?? Microsoft.CodeAnalysis.Location.None, args);
        }
    }
}

namespace Weir.Generator.Diagnostics
{
    using System.Collections.Generic;
    using System.Linq;
    using System.Reflection;

    internal static class DiagnosticCatalog
    {
        private static readonly Dictionary<string, DiagnosticDescriptor> s_byId = typeof(DiagnosticDescriptors)
            .GetFields(BindingFlags.Public | BindingFlags.Static)
            .Select(f => (DiagnosticDescriptor)f.GetValue(null)!)
            .ToDictionary(d => d.Id, StringComparer.Ordinal);

        public static IEnumerable<DiagnosticDescriptor> All => s_byId.Values;

        public static DiagnosticDescriptor ById(string id) => s_byId[id];
    }
}
