using MediaGen;
using MediaGen.Generators.Replicate.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

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
        AddVerifier(builder.AddHttpGenerator<ReplicateGenerator, ReplicateGeneratorOptions, ReplicateGeneratorOptionsValidator>(HttpClientName, configure));

    /// <summary>
    /// Adds the Replicate generator with options bound from <paramref name="section"/> (usually
    /// <c>MediaGen:Generators:Replicate</c>); an unknown key is a start-up error.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The configuration section.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddReplicateGenerator(this IMediaGenerationBuilder builder, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        AddVerifier(builder.AddHttpGenerator<ReplicateGenerator, ReplicateGeneratorOptions, ReplicateGeneratorOptionsValidator>(HttpClientName, static _ => { }));
        builder.Services.AddOptions<ReplicateGeneratorOptions>().Bind(section, static o => o.ErrorOnUnknownConfiguration = true);
        return builder;
    }

    /// <summary>
    /// Adds the Replicate generator using <paramref name="httpClient"/> for every call. The caller owns the client;
    /// MediaGen never disposes it. Requests use absolute URLs built from <see cref="HttpGeneratorOptions.BaseUrl"/>.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="httpClient">The client.</param>
    /// <param name="configure">Configures <see cref="ReplicateGeneratorOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddReplicateGenerator(this IMediaGenerationBuilder builder, HttpClient httpClient, Action<ReplicateGeneratorOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        return AddVerifier(builder.AddHttpGenerator<ReplicateGenerator, ReplicateGeneratorOptions, ReplicateGeneratorOptionsValidator>(HttpClientName, configure, httpClient));
    }

    /// <summary>Adds the <see cref="ReplicateCatalogVerifier"/>, and the start-up check <see cref="ReplicateGeneratorOptions.VerifyCatalog"/> turns on.</summary>
    private static IMediaGenerationBuilder AddVerifier(IMediaGenerationBuilder builder)
    {
        builder.Services.TryAddSingleton<ReplicateCatalogVerifier>();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ReplicateCatalogVerification>());
        return builder;
    }
}
