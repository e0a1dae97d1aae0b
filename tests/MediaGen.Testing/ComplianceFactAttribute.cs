using Xunit.Abstractions;

namespace MediaGen.Testing;

/// <summary>
/// A fact in an abstract compliance suite. It runs like <see cref="FactAttribute"/>, except that when the concrete
/// test class carries <see cref="RequiresServerAttribute"/> it is skipped, like <see cref="ServerFactAttribute"/>,
/// while the server's variable is unset outside CI. One suite can so serve both in-process implementations and
/// adapters that need a real server.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
[XunitTestCaseDiscoverer("MediaGen.Testing.ComplianceFactDiscoverer", "MediaGen.Testing")]
public sealed class ComplianceFactAttribute : FactAttribute
{
}

/// <summary>Marks a concrete compliance test class whose tests need the server eng/test.sh exports in <see cref="EnvironmentVariable"/>.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = true)]
public sealed class RequiresServerAttribute : Attribute
{
    /// <summary>Creates the attribute.</summary>
    /// <param name="environmentVariable">The variable holding the server's address, such as <c>MEDIAGEN_S3_ENDPOINT</c>.</param>
    public RequiresServerAttribute(string environmentVariable)
    {
        EnvironmentVariable = environmentVariable;
    }

    /// <summary>The variable holding the server's address.</summary>
    public string EnvironmentVariable { get; }
}

/// <summary>Discovers <see cref="ComplianceFactAttribute"/> tests.</summary>
public sealed class ComplianceFactDiscoverer : FactDiscoverer
{
    /// <summary>Creates the discoverer.</summary>
    /// <param name="diagnosticMessageSink">xunit's diagnostic sink.</param>
    public ComplianceFactDiscoverer(IMessageSink diagnosticMessageSink)
        : base(diagnosticMessageSink)
    {
    }

    /// <inheritdoc />
    protected override IXunitTestCase CreateTestCase(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute) =>
        new ComplianceTestCase(DiagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod);
}

/// <summary>A compliance test case whose skip reason comes from the concrete class's <see cref="RequiresServerAttribute"/>.</summary>
public sealed class ComplianceTestCase : XunitTestCase
{
    /// <summary>For deserialization only.</summary>
    [Obsolete("Called by the de-serializer; should only be called by deriving classes for de-serialization purposes")]
    public ComplianceTestCase()
    {
    }

    /// <summary>Creates the test case.</summary>
    /// <param name="diagnosticMessageSink">xunit's diagnostic sink.</param>
    /// <param name="defaultMethodDisplay">How to display the method.</param>
    /// <param name="defaultMethodDisplayOptions">Display options.</param>
    /// <param name="testMethod">The test method.</param>
    public ComplianceTestCase(IMessageSink diagnosticMessageSink, TestMethodDisplay defaultMethodDisplay, TestMethodDisplayOptions defaultMethodDisplayOptions, ITestMethod testMethod)
        : base(diagnosticMessageSink, defaultMethodDisplay, defaultMethodDisplayOptions, testMethod)
    {
    }

    /// <inheritdoc />
    protected override string GetSkipReason(IAttributeInfo factAttribute)
    {
        var reason = base.GetSkipReason(factAttribute);
        if (reason is not null)
        {
            return reason;
        }

        foreach (var attribute in TestMethod.TestClass.Class.GetCustomAttributes(typeof(RequiresServerAttribute).AssemblyQualifiedName))
        {
            if (attribute.GetConstructorArguments().FirstOrDefault() is string variable && ServerEnvironment.SkipReason(variable) is { } skip)
            {
                return skip;
            }
        }

        return null!;
    }
}
