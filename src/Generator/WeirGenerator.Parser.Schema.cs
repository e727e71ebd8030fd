using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Weir.Generator.Diagnostics;
using Weir.Generator.Helpers;
using Weir.Generator.Model;

namespace Weir.Generator
{
    /// <summary>
    /// The state schema part of the parser: describes, from symbols, what each stateful operator
    /// stores (key type, each state's kind and stored types, and the serialized members of
    /// user-defined types), as the equatable <see cref="StateManifestModel"/>.
    /// </summary>
    internal sealed partial class Parser
    {
        /// <summary>How deep member types are described; deeper types are compared by name only.</summary>
        internal const int MaxSchemaDepth = 8;

        private const string MemoryPackOrderAttribute = "MemoryPack.MemoryPackOrderAttribute";
        private const string MemoryPackIgnoreAttribute = "MemoryPack.MemoryPackIgnoreAttribute";
        private const string MemoryPackIncludeAttribute = "MemoryPack.MemoryPackIncludeAttribute";
        private const string MemoryPackUnionAttribute = "MemoryPack.MemoryPackUnionAttribute";

        private static readonly SymbolDisplayFormat s_schemaNameFormat = new(
            globalNamespaceStyle: SymbolDisplayGlobalNamespaceStyle.Omitted,
            typeQualificationStyle: SymbolDisplayTypeQualificationStyle.NameAndContainingTypesAndNamespaces,
            genericsOptions: SymbolDisplayGenericsOptions.None,
            miscellaneousOptions: SymbolDisplayMiscellaneousOptions.UseSpecialTypes);

        // Types reported by WEIR0309 in this job (once each).
        private readonly HashSet<string> _reportedLayouts = new(StringComparer.Ordinal);

        /// <summary>Records a state of operator <paramref name="op"/> storing <paramref name="stored"/>, and warns about default-layout [MemoryPackable] types in it.</summary>
        private void AddStateSchema(int op, string name, string kind, SyntaxNode where, params ITypeSymbol[] stored)
        {
            TypeSchemaModel[] types = stored.Select(SchemaOf).ToArray();
            _operators[op].StateSchemas.Add((new StateSchemaModel(name, kind, types.ToEquatableArray()), where));
            var objects = new List<string>();
            foreach (TypeSchemaModel type in types)
            {
                CollectDefaultLayouts(type, objects);
            }

            foreach (string type in objects.Where(_reportedLayouts.Add))
            {
                _warnings.Add(DiagnosticInfo.Create(DiagnosticDescriptors.StateTypeNotVersionTolerant, where, type, name, _operators[op].DisplayName));
            }
        }

        private static void CollectDefaultLayouts(TypeSchemaModel type, List<string> names)
        {
            if (type.Layout == "Object")
            {
                names.Add(type.Name);
            }

            foreach (FieldSchemaModel field in type.Fields)
            {
                CollectDefaultLayouts(field.Type, names);
            }

            foreach (TypeSchemaModel argument in type.Arguments)
            {
                CollectDefaultLayouts(argument, names);
            }
        }

        private StateManifestModel BuildManifest(string jobName) => new(
            jobName,
            _operators
                .Where(o => o.ExplicitId is not null && (o.IsKeyed || o.StateSchemas.Count > 0))
                .Select(o => new OperatorSchemaModel(o.ExplicitId!, DisplayKind(o.Kind), o.IsKeyed ? o.KeySchema : null, o.StateSchemas.Select(s => s.Schema).ToEquatableArray()))
                .ToEquatableArray());

        private EquatableArray<SchemaLocationModel> SchemaLocations()
        {
            var locations = new List<SchemaLocationModel>();
            foreach (OperatorDraft op in _operators.Where(o => o.ExplicitId is not null && (o.IsKeyed || o.StateSchemas.Count > 0)))
            {
                locations.Add(new SchemaLocationModel(op.ExplicitId!, null, LocationInfo.From(op.Syntax)));
                foreach ((StateSchemaModel schema, SyntaxNode where) in op.StateSchemas)
                {
                    locations.Add(new SchemaLocationModel(op.ExplicitId!, schema.Name, LocationInfo.From(where)));
                }
            }

            return locations.ToEquatableArray();
        }

        internal TypeSchemaModel SchemaOf(ITypeSymbol type) => SchemaOf(type, 0, new HashSet<string>(StringComparer.Ordinal));

        /// <summary>Describes how MemoryPack serializes <paramref name="type"/>; <paramref name="path"/> holds the user types being described (cycle guard).</summary>
        private TypeSchemaModel SchemaOf(ITypeSymbol type, int depth, HashSet<string> path)
        {
            _cancellation.ThrowIfCancellationRequested();
            string name = SchemaTypeName(type);
            if (type is IArrayTypeSymbol array)
            {
                return Schema(name, "Builtin", arguments: new[] { SchemaOf(array.ElementType, depth, path) });
            }

            if (type.TypeKind == TypeKind.Enum)
            {
                return Schema(name, "Enum");
            }

            if (type is not INamedTypeSymbol named)
            {
                return Schema(name, "Opaque");
            }

            if (named.IsTupleType)
            {
                return Schema(name, "Builtin", arguments: named.TupleElements.Select(e => SchemaOf(e.Type, depth, path)).ToArray());
            }

            AttributeData? packable = named.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == MemoryPackableAttribute);
            bool unmanaged = packable is null && named.TypeKind == TypeKind.Struct && named.IsUnmanagedType && named.SpecialType == SpecialType.None
                && !named.IsGenericType && named.ContainingNamespace?.ToDisplayString().StartsWith("System", StringComparison.Ordinal) != true;
            if (packable is null && !unmanaged)
            {
                // A type MemoryPack knows: compared by name and type arguments.
                return Schema(name, "Builtin", arguments: named.TypeArguments.Select(t => SchemaOf(t, depth, path)).ToArray());
            }

            if (depth >= MaxSchemaDepth || path.Contains(name))
            {
                return Schema(name, "Reference");
            }

            string layout = unmanaged ? "Unmanaged" : LayoutOf(named, packable!);
            if (layout == "Opaque")
            {
                return Schema(name, layout);
            }

            path.Add(name);
            FieldSchemaModel[] fields = (unmanaged ? UnmanagedFields(named) : SerializedMembers(named))
                .Select(m => new FieldSchemaModel(m.Name, m.Order, SchemaOf(m.Type, depth + 1, path)))
                .ToArray();
            path.Remove(name);
            return Schema(name, layout, fields);
        }

        private static TypeSchemaModel Schema(string name, string layout, FieldSchemaModel[]? fields = null, TypeSchemaModel[]? arguments = null)
            => new(name, layout, fields is null ? EquatableArray<FieldSchemaModel>.Empty : fields.ToEquatableArray(), arguments is null ? EquatableArray<TypeSchemaModel>.Empty : arguments.ToEquatableArray());

        /// <summary>MemoryPack's GenerateType (Object = 0, VersionTolerant = 1, CircularReference = 2, Collection = 3, NoGenerate = 4) as a layout.</summary>
        private static string LayoutOf(INamedTypeSymbol type, AttributeData packable)
        {
            if (type.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == MemoryPackUnionAttribute) || type.TypeKind == TypeKind.Interface || type.IsAbstract)
            {
                return "Opaque";
            }

            object? generateType = packable.ConstructorArguments.Length > 0 ? packable.ConstructorArguments[0].Value : null;
            return generateType switch
            {
                null or 0 => "Object",
                1 or 2 => "VersionTolerant",
                _ => "Opaque",
            };
        }

        /// <summary>
        /// The members MemoryPack serializes: public instance fields and properties (with a getter,
        /// not indexers), plus [MemoryPackInclude] ones, minus [MemoryPackIgnore] ones, base types'
        /// first; ordered by [MemoryPackOrder], else by declaration.
        /// </summary>
        private static IEnumerable<(string Name, int Order, ITypeSymbol Type)> SerializedMembers(INamedTypeSymbol type)
        {
            var chain = new List<INamedTypeSymbol>();
            for (INamedTypeSymbol? t = type; t is not null && t.SpecialType != SpecialType.System_Object && t.SpecialType != SpecialType.System_ValueType; t = t.BaseType)
            {
                chain.Insert(0, t);
            }

            var members = new List<(string Name, int Order, ITypeSymbol Type)>();
            foreach (ISymbol member in chain.SelectMany(t => t.GetMembers()))
            {
                if (member.IsStatic || member.IsImplicitlyDeclared || HasAttribute(member, MemoryPackIgnoreAttribute))
                {
                    continue;
                }

                ITypeSymbol? memberType = member switch
                {
                    IFieldSymbol { IsConst: false } field => field.Type,
                    IPropertySymbol { IsIndexer: false, GetMethod: not null } property => property.Type,
                    _ => null,
                };
                if (memberType is null || (member.DeclaredAccessibility != Accessibility.Public && !HasAttribute(member, MemoryPackIncludeAttribute)))
                {
                    continue;
                }

                AttributeData? order = member.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == MemoryPackOrderAttribute);
                members.Add((member.Name, order?.ConstructorArguments.FirstOrDefault().Value is int explicitOrder ? explicitOrder : members.Count, memberType));
            }

            return members.OrderBy(m => m.Order);
        }

        /// <summary>An unmanaged struct's fields, all of them, in declaration (memory) order.</summary>
        private static IEnumerable<(string Name, int Order, ITypeSymbol Type)> UnmanagedFields(INamedTypeSymbol type)
            => type.GetMembers().OfType<IFieldSymbol>()
                .Where(f => !f.IsStatic && !f.IsConst)
                .Select((f, i) => ((f.AssociatedSymbol ?? f).Name, i, f.Type));

        private static bool HasAttribute(ISymbol symbol, string name) => symbol.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == name);

        /// <summary>A generic type's name without its type arguments, e.g. System.ValueTuple (its display form would be "(T1, T2)").</summary>
        private static string QualifiedName(INamedTypeSymbol type)
        {
            string prefix = type.ContainingType is { } outer
                ? SchemaTypeName(outer)
                : type.ContainingNamespace is { IsGlobalNamespace: false } ns ? ns.ToDisplayString() : string.Empty;
            return prefix.Length == 0 ? type.Name : prefix + "." + type.Name;
        }

        /// <summary>A type's schema name: namespace-qualified, keywords for special types, no nullable annotations, tuples as ValueTuple.</summary>
        internal static string SchemaTypeName(ITypeSymbol type)
        {
            switch (type)
            {
                case IArrayTypeSymbol array:
                    return SchemaTypeName(array.ElementType) + "[" + new string(',', array.Rank - 1) + "]";
                case INamedTypeSymbol named when named.IsGenericType:
                    INamedTypeSymbol underlying = named.IsTupleType ? named.TupleUnderlyingType ?? named : named;
                    return QualifiedName(underlying) + "<" + string.Join(", ", underlying.TypeArguments.Select(SchemaTypeName)) + ">";
                default:
                    return type.WithNullableAnnotation(NullableAnnotation.NotAnnotated).ToDisplayString(s_schemaNameFormat);
            }
        }
    }
}
