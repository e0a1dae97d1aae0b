using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace MediaGen.Samples.Hosting;

/// <summary>What <see cref="MediaGenHostingExtensions.AddMediaGenerationFromConfiguration"/> chose, and the builder to add more with.</summary>
public sealed class MediaGenHostSetup
{
    internal MediaGenHostSetup(IMediaGenerationBuilder builder, IConfigurationSection section, string queueProvider, string storageProvider, bool? workerEnabled, SampleTelemetryOptions telemetry)
    {
        Telemetry = telemetry;
        Builder = builder;
        Section = section;
        QueueProvider = queueProvider;
        StorageProvider = storageProvider;
        WorkerEnabled = workerEnabled;
    }

    /// <summary>The MediaGen builder, for further registrations.</summary>
    public IMediaGenerationBuilder Builder { get; }

    /// <summary>The <c>MediaGen</c> configuration section.</summary>
    public IConfigurationSection Section { get; }

    /// <summary>The queue provider in its canonical spelling, such as <c>InMemory</c>.</summary>
    public string QueueProvider { get; }

    /// <summary>The storage provider in its canonical spelling, such as <c>FileSystem</c>.</summary>
    public string StorageProvider { get; }

    /// <summary>The checked <c>MediaGen:Telemetry</c> settings, for <see cref="SampleTelemetry.AddSampleTelemetry"/>.</summary>
    public SampleTelemetryOptions Telemetry { get; }

    /// <summary>The value of <c>MediaGen:Worker:Enabled</c>, or null when it is not set.</summary>
    public bool? WorkerEnabled { get; }

    /// <summary>Whether the queue lives in this process only, so no other process can send or receive its jobs.</summary>
    public bool IsQueueInProcess => QueueProvider == MediaGenHostingExtensions.InMemoryProvider;

    /// <summary>Adds the worker with <see cref="MediaGenerationWorkerOptions"/> bound from <c>MediaGen:Worker</c>.</summary>
    /// <returns>This setup.</returns>
    public MediaGenHostSetup AddWorker()
    {
        Builder.AddWorker();
        // Keys were checked by AddMediaGenerationFromConfiguration (Enabled is the host's own key, so no strict binding here).
        Builder.Services.AddOptions<MediaGenerationWorkerOptions>().Bind(Section.GetSection("Worker"));
        return this;
    }
}
