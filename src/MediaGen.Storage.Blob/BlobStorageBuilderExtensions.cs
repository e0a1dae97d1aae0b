using Azure.Storage.Blobs;
using MediaGen;
using MediaGen.Storage.Blob.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Stores MediaGen's outputs in Azure Blob storage.</summary>
public static class BlobStorageBuilderExtensions
{
    /// <summary>The provider name of the Blob storage, as in <c>MediaGen:Storage:Provider = Blob</c>.</summary>
    public const string ProviderName = "Blob";

    /// <summary>Uses Azure Blob storage through a client MediaGen creates from <paramref name="configure"/>'s options.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="BlobStorageOptions"/>: a connection string or service URI, and the container.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another storage was already chosen.</exception>
    public static IMediaGenerationBuilder UseBlobStorage(this IMediaGenerationBuilder builder, Action<BlobStorageOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        Register(builder, ownedBy: ClientSource.Options, _ => null);
        builder.Services.Configure(configure);
        return builder;
    }

    /// <summary>
    /// Uses Azure Blob storage with <see cref="BlobStorageOptions"/> bound from <paramref name="section"/> (such as
    /// <c>MediaGen:Blob</c>); an unknown key is a start-up error.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The configuration section.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another storage was already chosen.</exception>
    public static IMediaGenerationBuilder UseBlobStorage(this IMediaGenerationBuilder builder, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(section);
        Register(builder, ownedBy: ClientSource.Options, _ => null);
        builder.Services.AddOptions<BlobStorageOptions>().Bind(section, o => o.ErrorOnUnknownConfiguration = true);
        return builder;
    }

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
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(configure);
        Register(builder, ClientSource.Caller, o => client.GetBlobContainerClient(o.ContainerName));
        builder.Services.Configure(configure);
        return builder;
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
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(container);
        Register(builder, ClientSource.Caller, _ => container);
        builder.Services.Configure<BlobStorageOptions>(o => o.ContainerName = container.Name);
        if (configure is not null)
        {
            builder.Services.Configure(configure);
        }

        return builder;
    }

    private enum ClientSource
    {
        Options,
        Caller,
    }

    private static void Register(IMediaGenerationBuilder builder, ClientSource ownedBy, Func<BlobStorageOptions, BlobContainerClient?> callerContainer)
    {
        builder.UseStorage(ProviderName, sp =>
        {
            var options = sp.GetRequiredService<IOptions<BlobStorageOptions>>().Value;
            var container = callerContainer(options) ?? CreateServiceClient(options).GetBlobContainerClient(options.ContainerName);
            return new BlobMediaStorage(container, options, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<BlobMediaStorage>>());
        });
        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        var fromOptions = ownedBy == ClientSource.Options;
        services.AddOptions<BlobStorageOptions>()
            .Validate(
                o => !string.IsNullOrEmpty(o.ContainerName),
                "Set BlobStorageOptions.ContainerName (MediaGen:Blob:ContainerName) to the container outputs are stored in.")
            .Validate(
                o => !fromOptions || (string.IsNullOrEmpty(o.ConnectionString) != (o.ServiceUri is null)),
                "Set exactly one of BlobStorageOptions.ConnectionString (MediaGen:Blob:ConnectionString) and ServiceUri (MediaGen:Blob:ServiceUri).")
            .Validate(
                o => !fromOptions || o.ServiceUri is null || o.ServiceUri.IsAbsoluteUri,
                "BlobStorageOptions.ServiceUri (MediaGen:Blob:ServiceUri) must be an absolute URL such as https://account.blob.core.windows.net/.")
            .Validate(
                o => MediaStorageKeys.IsValidRootPrefix(o.Prefix),
                "BlobStorageOptions.Prefix (MediaGen:Blob:Prefix) must be '/'-separated segments without empty, '.' or '..' segments, backslashes or colons, such as media/.")
            .Validate(
                o => o.PublicBaseUrl is null || o.PublicBaseUrl.IsAbsoluteUri,
                "BlobStorageOptions.PublicBaseUrl (MediaGen:Blob:PublicBaseUrl) must be an absolute URL such as https://cdn.example.com/.")
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<BlobStorageOptions>, BlobStorageOptionsValidator>());
    }

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
