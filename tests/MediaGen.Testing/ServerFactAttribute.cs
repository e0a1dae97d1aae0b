namespace MediaGen.Testing;

/// <summary>
/// A fact that needs a real server whose address eng/test.sh exports in <see cref="EnvironmentVariable"/>.
/// Without the variable the test is skipped on a developer machine, but under <c>CI=true</c> it runs and fails,
/// so a missing server can never pass as green.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ServerFactAttribute : FactAttribute
{
    /// <summary>Creates the attribute.</summary>
    /// <param name="environmentVariable">The variable holding the server's address, such as <c>MEDIAGEN_REDIS</c>.</param>
    public ServerFactAttribute(string environmentVariable)
    {
        EnvironmentVariable = environmentVariable;
        Skip = ServerEnvironment.SkipReason(environmentVariable);
    }

    /// <summary>The variable holding the server's address.</summary>
    public string EnvironmentVariable { get; }
}

/// <summary>The theory counterpart of <see cref="ServerFactAttribute"/>.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ServerTheoryAttribute : TheoryAttribute
{
    /// <summary>Creates the attribute.</summary>
    /// <param name="environmentVariable">The variable holding the server's address.</param>
    public ServerTheoryAttribute(string environmentVariable)
    {
        EnvironmentVariable = environmentVariable;
        Skip = ServerEnvironment.SkipReason(environmentVariable);
    }

    /// <summary>The variable holding the server's address.</summary>
    public string EnvironmentVariable { get; }
}

/// <summary>Reads server addresses exported by eng/test.sh.</summary>
public static class ServerEnvironment
{
    /// <summary>Whether the tests run under CI (<c>CI=true</c>), where no server test may be skipped.</summary>
    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The skip reason for a test needing <paramref name="environmentVariable"/>, or null when it must run.</summary>
    /// <param name="environmentVariable">The variable.</param>
    /// <returns>A reason, or null.</returns>
    public static string? SkipReason(string environmentVariable) =>
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(environmentVariable)) || IsCi
            ? null
            : $"{environmentVariable} is not set; run eng/test.sh to start the server.";

    /// <summary>Gets the variable's value, or throws a message saying how to start the server.</summary>
    /// <param name="environmentVariable">The variable.</param>
    /// <returns>The value.</returns>
    public static string Require(string environmentVariable) =>
        Environment.GetEnvironmentVariable(environmentVariable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{environmentVariable} is not set; eng/test.sh starts the server and sets it.");
}
