namespace MediaGen.Samples.Api.Tests;

public sealed class ServiceBusSampleConfigurationTests
{
    [Fact]
    public void AddMediaGenerationFromConfiguration_ServiceBusProvider_UsesTheServiceBusQueueWithItsSection()
    {
        var services = new ServiceCollection();

        var setup = services.AddMediaGenerationFromConfiguration(Configuration(
            ("MediaGen:Queue:Provider", "servicebus"),
            ("MediaGen:ServiceBus:ConnectionString", "Endpoint=sb://contoso.servicebus.windows.net/;SharedAccessKeyName=mediagen;SharedAccessKey=a2V5"),
            ("MediaGen:ServiceBus:QueueName", "jobs")));

        Assert.Equal("ServiceBus", setup.QueueProvider);
        Assert.False(setup.IsQueueInProcess);
        using var provider = services.BuildServiceProvider();
        Assert.Equal("jobs", provider.GetRequiredService<IOptions<ServiceBusQueueOptions>>().Value.QueueName);
        Assert.Contains("ServiceBus", provider.GetRequiredService<IJobQueue>().GetType().Name, StringComparison.Ordinal);
    }

    [Fact]
    public void AddMediaGenerationFromConfiguration_ServiceBusSectionWithATypo_FailsNamingTheKey()
    {
        var error = Assert.Throws<MediaGenConfigurationException>(() => new ServiceCollection().AddMediaGenerationFromConfiguration(Configuration(
            ("MediaGen:Queue:Provider", "ServiceBus"),
            ("MediaGen:ServiceBus:ConnectionString", "Endpoint=sb://contoso.servicebus.windows.net/;SharedAccessKeyName=mediagen;SharedAccessKey=a2V5"),
            ("MediaGen:ServiceBus:QueueNmae", "jobs"))));

        Assert.Contains(error.Errors, e => e.StartsWith("MediaGen:ServiceBus:QueueNmae is not a known setting", StringComparison.Ordinal));
    }

    private static IConfiguration Configuration(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => KeyValuePair.Create(v.Key, (string?)v.Value))).Build();
}
