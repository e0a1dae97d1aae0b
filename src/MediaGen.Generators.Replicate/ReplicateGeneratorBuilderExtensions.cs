using MediaGen;
using MediaGen.Generators.Replicate.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using static Microsoft.Extensions.DependencyInjection.MediaGenerationAdapterBuilderExtensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the Replicate generator to MediaGen.</summary>
public static class ReplicateGeneratorBuilderExtensions
{
    /// <summary>The name of the <see cref="System.Net.Http.HttpClient"/> the generator gets from <see cref="IHttpClientFactory"/>; configure it with <c>services.AddHttpClient(name)</c>.</summary>
    public const string HttpClientName = "MediaGen.Replicate";

    /// <summary>Adds the Replicate generator, with an HttpClient from <see cref="IHttpClientFactory"/>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="ReplicateGeneratorOptions"/>; <see cref="HttpGeneratorOptions.ApiToken"/> is required.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddReplicateGenerator(this IMediaGenerationBuilder builder, Action<ReplicateGeneratorOptions> configure) =>
        AddReplicateGenerator(builder, configure ?? throw new ArgumentNullException(nameof(configure)), section: null, httpClient: null);

    /// <summary>
    /// Adds the Replicate generator with options bound from <paramref name="section"/> (usually
    /// <c>MediaGen:Generators:Replicate</c>); an unknown key is a start-up error.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The configuration section.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddReplicateGenerator(this IMediaGenerationBuilder builder, IConfigurationSection section) =>
        AddReplicateGenerator(builder, configure: null, section ?? throw new ArgumentNullException(nameof(section)), httpClient: null);

    /// <summary>
    /// Adds the Replicate generator using <paramref name="httpClient"/> for every call. The caller owns the client;
    /// MediaGen never disposes it. Requests use absolute URLs built from <see cref="HttpGeneratorOptions.BaseUrl"/>.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="httpClient">The client.</param>
    /// <param name="configure">Configures <see cref="ReplicateGeneratorOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddReplicateGenerator(this IMediaGenerationBuilder builder, HttpClient httpClient, Action<ReplicateGeneratorOptions> configure) =>
        AddReplicateGenerator(builder, configure ?? throw new ArgumentNullException(nameof(configure)), section: null, httpClient ?? throw new ArgumentNullException(nameof(httpClient)));

    // Every overload funnels here: the kit registers the options, the client and the generator; Replicate adds the
    // catalog verifier and the start-up check ReplicateGeneratorOptions.VerifyCatalog turns on.
    private static IMediaGenerationBuilder AddReplicateGenerator(
        IMediaGenerationBuilder builder, Action<ReplicateGeneratorOptions>? configure, IConfigurationSection? section, HttpClient? httpClient)
    {
        builder.AddHttpGenerator<ReplicateGenerator, ReplicateGeneratorOptions, ReplicateGeneratorOptionsValidator>(HttpClientName, configure, section, static (o, s) => o.Bind(s, RejectUnknownKeys), httpClient);
        builder.Services.TryAddSingleton<ReplicateCatalogVerifier>();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ReplicateCatalogVerification>());
        return builder;
    }
}
