using Azure.Storage.Blobs;
using MediaGen;
using MediaGen.Storage.Blob.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using static Microsoft.Extensions.DependencyInjection.MediaGenerationAdapterBuilderExtensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Stores MediaGen's outputs in Azure Blob storage.</summary>
public static class BlobStorageBuilderExtensions
{
    /// <summary>Uses Azure Blob storage through a client MediaGen creates from <paramref name="configure"/>'s options.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="BlobStorageOptions"/>: a connection string or service URI, and the container.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another storage was already chosen.</exception>
    public static IMediaGenerationBuilder UseBlobStorage(this IMediaGenerationBuilder builder, Action<BlobStorageOptions> configure) =>
        UseBlobStorage(builder, configure ?? throw new ArgumentNullException(nameof(configure)), section: null, container: null);

    /// <summary>
    /// Uses Azure Blob storage with <see cref="BlobStorageOptions"/> bound from <paramref name="section"/> (such as
    /// <c>MediaGen:Blob</c>); an unknown key is a start-up error.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The configuration section.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another storage was already chosen.</exception>
    public static IMediaGenerationBuilder UseBlobStorage(this IMediaGenerationBuilder builder, IConfigurationSection section) =>
        UseBlobStorage(builder, configure: null, section ?? throw new ArgumentNullException(nameof(section)), container: null);

    /// <summary>
    /// Uses Azure Blob storage through <paramref name="client"/>, which the caller owns (for example one built with a
    /// Microsoft Entra ID credential). The options' connection string and service URI are ignored.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="client">The Blob service client.</param>
    /// <param name="configure">Configures <see cref="BlobStorageOptions"/>: at least the container.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another storage was already chosen.</exception>
    public static IMediaGenerationBuilder UseBlobStorage(this IMediaGenerationBuilder builder, BlobServiceClient client, Action<BlobStorageOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(client);
        return UseBlobStorage(builder, configure ?? throw new ArgumentNullException(nameof(configure)), section: null, o => client.GetBlobContainerClient(o.ContainerName));
    }

    /// <summary>
    /// Uses Azure Blob storage in <paramref name="container"/>, which the caller owns. The options' connection string,
    /// service URI and container name are ignored.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="container">The container client.</param>
    /// <param name="configure">Configures the rest of <see cref="BlobStorageOptions"/>, if needed.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another storage was already chosen.</exception>
    public static IMediaGenerationBuilder UseBlobStorage(this IMediaGenerationBuilder builder, BlobContainerClient container, Action<BlobStorageOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(container);
        return UseBlobStorage(
            builder,
            o =>
            {
                o.ContainerName = container.Name;
                configure?.Invoke(o);
            },
            section: null,
            _ => container);
    }

    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures the options, or null.</param>
    /// <param name="section">The section the options are bound from, or null.</param>
    /// <param name="container">The caller's container for the options, or null for a client MediaGen creates from them.</param>
    private static IMediaGenerationBuilder UseBlobStorage(
        IMediaGenerationBuilder builder, Action<BlobStorageOptions>? configure, IConfigurationSection? section, Func<BlobStorageOptions, BlobContainerClient>? container)
    {
        var options = builder.UseObjectStorage<BlobStorageOptions, BlobStorageOptionsValidator, BlobMediaStorage>(
            (sp, o) => Create(sp, o, container?.Invoke(o)), configure, section, static (o, s) => o.Bind(s, RejectUnknownKeys));
        AddChecks(options, callerClient: container is not null);
        return builder;
    }

    private static BlobMediaStorage Create(IServiceProvider services, BlobStorageOptions options, BlobContainerClient? container) => new(
        container ?? CreateServiceClient(options).GetBlobContainerClient(options.ContainerName),
        options,
        services.GetRequiredService<TimeProvider>(),
        services.GetRequiredService<ILogger<BlobMediaStorage>>());

    // The container is always needed; where the service is only when MediaGen creates the client.
    private static void AddChecks(OptionsBuilder<BlobStorageOptions> options, bool callerClient) => options
        .Validate(
            o => !string.IsNullOrEmpty(o.ContainerName),
            "Set BlobStorageOptions.ContainerName (MediaGen:Blob:ContainerName) to the container outputs are stored in.")
        .Validate(
            o => callerClient || (string.IsNullOrEmpty(o.ConnectionString) != (o.ServiceUri is null)),
            "Set exactly one of BlobStorageOptions.ConnectionString (MediaGen:Blob:ConnectionString) and ServiceUri (MediaGen:Blob:ServiceUri).")
        .Validate(
            o => callerClient || o.ServiceUri is null || o.ServiceUri.IsAbsoluteUri,
            "BlobStorageOptions.ServiceUri (MediaGen:Blob:ServiceUri) must be an absolute URL such as https://account.blob.core.windows.net/.");

    private static BlobServiceClient CreateServiceClient(BlobStorageOptions options)
    {
        try
        {
            return options.ServiceUri is { } uri ? new BlobServiceClient(uri) : new BlobServiceClient(options.ConnectionString);
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw new StorageUnavailableException("BlobStorageOptions.ConnectionString (MediaGen:Blob:ConnectionString) is not a valid storage connection string.", e);
        }
    }
}
