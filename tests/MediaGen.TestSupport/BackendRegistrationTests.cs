namespace MediaGen.TestSupport;

/// <summary>
/// What every backend's registration (the queue, store, ledger and events on one server) must do: choose the queue
/// seam once, and stop the host at start-up with a message naming the key for a missing connection or an unknown key.
/// A backend's test project derives one class and says how to register it.
/// </summary>
/// <typeparam name="TOptions">The backend's options.</typeparam>
public abstract class BackendRegistrationTests<TOptions>
    where TOptions : class
{
    /// <summary>The backend's name as the error for a second queue shows it, for example <c>Redis</c>.</summary>
    protected abstract string ProviderName { get; }

    /// <summary>The backend's configuration section, for example <c>MediaGen:Redis</c>.</summary>
    protected abstract string Section { get; }

    /// <summary>The key naming the server, for example <c>Configuration</c>.</summary>
    protected abstract string ConnectionKey { get; }

    /// <summary>A value for <see cref="ConnectionKey"/> that needs no server until first use.</summary>
    protected abstract string ConnectionValue { get; }

    /// <summary>A key the options do not have: a misspelling of one they do.</summary>
    protected abstract string MisspelledKey { get; }

    /// <summary>Uses the backend with options from <paramref name="configure"/>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures the options.</param>
    /// <returns>The builder.</returns>
    protected abstract IMediaGenerationBuilder Use(IMediaGenerationBuilder builder, Action<TOptions> configure);

    /// <summary>Uses the backend with options bound from <paramref name="section"/>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The section.</param>
    /// <returns>The builder.</returns>
    protected abstract IMediaGenerationBuilder Use(IMediaGenerationBuilder builder, IConfigurationSection section);

    /// <summary>Sets <see cref="ConnectionKey"/> to <paramref name="value"/>.</summary>
    /// <param name="options">The options.</param>
    /// <param name="value">The value.</param>
    protected abstract void SetConnection(TOptions options, string value);

    [Fact]
    public void Use_UnknownKeyInSection_FailsAtStartup()
    {
        var section = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [$"{Section}:{ConnectionKey}"] = ConnectionValue,
            [$"{Section}:{MisspelledKey}"] = "typo",
        }).Build().GetSection(Section);
        var services = new ServiceCollection();
        Use(services.AddMediaGeneration(), section);
        using var provider = services.BuildServiceProvider();

        Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IOptions<TOptions>>().Value);
    }

    [Fact]
    public void Use_NoConnection_FailsValidationNamingTheKey()
    {
        var services = new ServiceCollection();
        Use(services.AddMediaGeneration(), static _ => { });
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<TOptions>>().Value);
        Assert.Contains($"{Section}:{ConnectionKey}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Use_AfterAnotherQueue_ThrowsNamingBoth()
    {
        var builder = new ServiceCollection().AddMediaGeneration().UseInMemoryQueue();

        var error = Assert.Throws<InvalidOperationException>(() => Use(builder, o => SetConnection(o, ConnectionValue)));
        Assert.Contains(ProviderName, error.Message, StringComparison.Ordinal);
        Assert.Contains("InMemory", error.Message, StringComparison.Ordinal);
    }
}
