namespace MediaGen.TestSupport;

/// <summary>
/// What every object-store storage's registration must do: choose the storage seam once, and stop the host at
/// start-up with a message naming the key for a missing bucket or container, a malformed prefix or an unknown key.
/// A storage's test project derives one class and says how to register it.
/// </summary>
/// <typeparam name="TOptions">The storage's options.</typeparam>
public abstract class ObjectStoreRegistrationTests<TOptions>
    where TOptions : ObjectStorageOptions
{
    /// <summary>The storage's provider name, for example <c>S3</c>.</summary>
    protected abstract string ProviderName { get; }

    /// <summary>The storage's configuration section, for example <c>MediaGen:S3</c>.</summary>
    protected abstract string Section { get; }

    /// <summary>The key naming the bucket or container, for example <c>BucketName</c>.</summary>
    protected abstract string ContainerKey { get; }

    /// <summary>Configuration keys (under <see cref="Section"/>) of a valid storage.</summary>
    protected abstract IReadOnlyDictionary<string, string> ValidKeys { get; }

    /// <summary>Uses the storage with options from <paramref name="configure"/>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures the options.</param>
    /// <returns>The builder.</returns>
    protected abstract IMediaGenerationBuilder Use(IMediaGenerationBuilder builder, Action<TOptions> configure);

    /// <summary>Uses the storage with options bound from <paramref name="section"/>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The section.</param>
    /// <returns>The builder.</returns>
    protected abstract IMediaGenerationBuilder Use(IMediaGenerationBuilder builder, IConfigurationSection section);

    /// <summary>Sets everything a valid storage needs but the bucket or container.</summary>
    /// <param name="options">The options.</param>
    protected abstract void ConfigureAllButContainer(TOptions options);

    /// <summary>Names the bucket or container.</summary>
    /// <param name="options">The options.</param>
    /// <param name="name">The name.</param>
    protected abstract void SetContainer(TOptions options, string name);

    [Fact]
    public void Options_MissingContainer_FailsAtStartWithTheSettingToFix()
    {
        var e = Assert.Throws<OptionsValidationException>(() => Resolve(ConfigureAllButContainer));

        Assert.Contains($"{Section}:{ContainerKey}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_MalformedPrefix_FailsAtStart()
    {
        var e = Assert.Throws<OptionsValidationException>(() => Resolve(o =>
        {
            ConfigureAllButContainer(o);
            SetContainer(o, "outputs");
            o.Prefix = "media/../other";
        }));

        Assert.Contains($"{Section}:Prefix", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_UnknownConfigurationKey_FailsAtStart()
    {
        var typo = ContainerKey.Replace("Name", string.Empty, StringComparison.Ordinal);
        var values = ValidKeys.ToDictionary(p => $"{Section}:{p.Key}", p => (string?)p.Value);
        values[$"{Section}:{typo}"] = "typo";
        var section = new ConfigurationBuilder().AddInMemoryCollection(values).Build().GetSection(Section);
        var services = new ServiceCollection();
        Use(services.AddMediaGeneration(), section);
        using var provider = services.BuildServiceProvider();

        var e = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IOptions<TOptions>>().Value);

        Assert.Contains(typo, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Use_AfterAnotherStorage_ThrowsNamingBoth()
    {
        var builder = new ServiceCollection().AddMediaGeneration().UseFileSystemStorage();

        var e = Assert.Throws<InvalidOperationException>(() => Use(builder, o => SetContainer(o, "outputs")));

        Assert.Contains(ProviderName, e.Message, StringComparison.Ordinal);
        Assert.Contains("FileSystem", e.Message, StringComparison.Ordinal);
    }

    private TOptions Resolve(Action<TOptions> configure)
    {
        var services = new ServiceCollection();
        Use(services.AddMediaGeneration(), configure);
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<TOptions>>().Value;
    }
}
