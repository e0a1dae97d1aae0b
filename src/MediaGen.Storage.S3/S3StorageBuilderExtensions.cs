using Amazon.S3;
using MediaGen;
using MediaGen.Storage.S3.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using static Microsoft.Extensions.DependencyInjection.MediaGenerationAdapterBuilderExtensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Stores MediaGen's outputs in Amazon S3 or an S3-compatible service.</summary>
public static class S3StorageBuilderExtensions
{
    /// <summary>Uses S3 storage through a client MediaGen creates from <paramref name="configure"/>'s options and disposes.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="S3StorageOptions"/>: at least the bucket.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another storage was already chosen.</exception>
    public static IMediaGenerationBuilder UseS3Storage(this IMediaGenerationBuilder builder, Action<S3StorageOptions> configure) =>
        UseS3Storage(builder, configure ?? throw new ArgumentNullException(nameof(configure)), section: null, client: null);

    /// <summary>
    /// Uses S3 storage with <see cref="S3StorageOptions"/> bound from <paramref name="section"/> (such as
    /// <c>MediaGen:S3</c>); an unknown key is a start-up error. MediaGen creates and disposes the client.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The configuration section.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another storage was already chosen.</exception>
    public static IMediaGenerationBuilder UseS3Storage(this IMediaGenerationBuilder builder, IConfigurationSection section) =>
        UseS3Storage(builder, configure: null, section ?? throw new ArgumentNullException(nameof(section)), client: null);

    /// <summary>
    /// Uses S3 storage through <paramref name="client"/>, which the caller owns: MediaGen never disposes it. The
    /// options' connection settings (service URL, region, keys, path style, checksums) are ignored; the client's apply.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="client">The S3 client.</param>
    /// <param name="configure">Configures <see cref="S3StorageOptions"/>: at least the bucket.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">Another storage was already chosen.</exception>
    public static IMediaGenerationBuilder UseS3Storage(this IMediaGenerationBuilder builder, IAmazonS3 client, Action<S3StorageOptions> configure) =>
        UseS3Storage(builder, configure ?? throw new ArgumentNullException(nameof(configure)), section: null, client ?? throw new ArgumentNullException(nameof(client)));

    private static IMediaGenerationBuilder UseS3Storage(IMediaGenerationBuilder builder, Action<S3StorageOptions>? configure, IConfigurationSection? section, IAmazonS3? client)
    {
        var options = builder.UseObjectStorage<S3StorageOptions, S3StorageOptionsValidator, S3MediaStorage>(
            (sp, o) => Create(sp, o, client), configure, section, static (o, s) => o.Bind(s, RejectUnknownKeys));
        AddChecks(options, callerClient: client is not null);
        return builder;
    }

    private static S3MediaStorage Create(IServiceProvider services, S3StorageOptions options, IAmazonS3? client) => new(
        client ?? S3ClientFactory.Create(options),
        ownsClient: client is null,
        options,
        services.GetRequiredService<TimeProvider>(),
        services.GetRequiredService<ILogger<S3MediaStorage>>());

    // What only a client MediaGen creates needs; a caller's client brings its own connection settings.
    private static void AddChecks(OptionsBuilder<S3StorageOptions> options, bool callerClient) => options
        .Validate(
            o => callerClient || (o.AccessKey is null) == (o.SecretKey is null),
            "Set both S3StorageOptions.AccessKey and SecretKey (MediaGen:S3:AccessKey, MediaGen:S3:SecretKey), or neither to use the default AWS credentials.")
        .Validate(
            o => callerClient || o.ServiceUrl is null || o.ServiceUrl.IsAbsoluteUri,
            "S3StorageOptions.ServiceUrl (MediaGen:S3:ServiceUrl) must be an absolute URL such as http://127.0.0.1:7480.");
}
