using System;
using System.Globalization;
using System.Linq;
using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Weir.Generator.Diagnostics;
using Xunit;

namespace Weir.Generator.Tests;

/// <summary>The descriptors themselves: well-formed, unique, and each covered by a test in <see cref="DiagnosticTests"/>.</summary>
public sealed class DiagnosticCatalogTests
{
    private const string HelpBase = "https://github.com/weir-streaming/weir/blob/main/docs/diagnostics.md#";

    public static TheoryData<string> Ids()
    {
        var data = new TheoryData<string>();
        foreach (DiagnosticDescriptor descriptor in Descriptors())
        {
            data.Add(descriptor.Id);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void DescriptorIsWellFormed(string id)
    {
        DiagnosticDescriptor descriptor = DiagnosticCatalog.ById(id);
        Assert.Matches(new Regex(@"^WEIR\d{4}$"), descriptor.Id);
        Assert.False(string.IsNullOrWhiteSpace(descriptor.Title.ToString(CultureInfo.InvariantCulture)));
        Assert.False(string.IsNullOrWhiteSpace(descriptor.MessageFormat.ToString(CultureInfo.InvariantCulture)));
        Assert.False(string.IsNullOrWhiteSpace(descriptor.Description.ToString(CultureInfo.InvariantCulture)));
        Assert.Equal(HelpBase + id.ToLowerInvariant(), descriptor.HelpLinkUri);
        Assert.True(Uri.IsWellFormedUriString(descriptor.HelpLinkUri, UriKind.Absolute));
        Assert.Equal("Weir", descriptor.Category);
        Assert.Equal(ExpectedSeverity(id), descriptor.DefaultSeverity);
        Assert.True(descriptor.IsEnabledByDefault);

        // The message formats with as many arguments as its highest placeholder asks for.
        string format = descriptor.MessageFormat.ToString(CultureInfo.InvariantCulture);
        int arguments = Regex.Matches(format, @"\{(\d+)\}").Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) + 1).DefaultIfEmpty(0).Max();
        string message = string.Format(CultureInfo.InvariantCulture, format, Enumerable.Range(0, arguments).Select(i => (object)("arg" + i)).ToArray());
        Assert.DoesNotContain("{", message, StringComparison.Ordinal);
    }

    [Fact]
    public void IdsAreUniqueAndAllInTheCatalog()
    {
        DiagnosticDescriptor[] descriptors = Descriptors();
        Assert.NotEmpty(descriptors);
        Assert.Equal(descriptors.Length, descriptors.Select(d => d.Id).Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(
            descriptors.Select(d => d.Id).Order(StringComparer.Ordinal),
            DiagnosticCatalog.All.Select(d => d.Id).Order(StringComparer.Ordinal));
        foreach (DiagnosticDescriptor descriptor in descriptors)
        {
            Assert.Same(descriptor, DiagnosticCatalog.ById(descriptor.Id));
        }
    }

    [Fact]
    public void EveryIdHasATest()
    {
        string[] tests = typeof(DiagnosticTests)
            .GetMethods(BindingFlags.Public | BindingFlags.Instance)
            .Where(m => m.GetCustomAttributes<FactAttribute>(inherit: true).Any())
            .Select(m => m.Name)
            .ToArray();
        string[] untested = Descriptors()
            .Select(d => d.Id)
            .Where(id => !tests.Any(name => name.StartsWith(id + "_", StringComparison.Ordinal)))
            .ToArray();
        Assert.True(untested.Length == 0, "No test in DiagnosticTests is named after: " + string.Join(", ", untested));
    }

    /// <summary>
    /// Everything is an error except what does not make the job wrong: state left behind by a removed
    /// operator or state (WEIR0306/0307) and a state type that cannot drop members later (WEIR0309)
    /// are warnings; an out-of-date baseline after compatible changes (WEIR0308) is information.
    /// </summary>
    private static DiagnosticSeverity ExpectedSeverity(string id) => id switch
    {
        "WEIR0306" or "WEIR0307" or "WEIR0309" => DiagnosticSeverity.Warning,
        "WEIR0308" => DiagnosticSeverity.Info,
        _ => DiagnosticSeverity.Error,
    };

    private static DiagnosticDescriptor[] Descriptors() => typeof(DiagnosticDescriptors)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.FieldType == typeof(DiagnosticDescriptor))
        .Select(f => (DiagnosticDescriptor)f.GetValue(null)!)
        .ToArray();
}
