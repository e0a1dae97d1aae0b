using MediaGen;
using MediaGen.Generators.Replicate.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the Replicate generator to MediaGen.</summary>
public static class ReplicateGeneratorBuilderExtensions
{
    /// <summary>The name of the <see cref="System.Net.Http.HttpClient"/> the generator gets from <see cref="IHttpClientFactory"/>; configure it with <c>services.AddHttpClient(name)</c>.</summary>
    public const string HttpClientName = "MediaGen.Replicate";

    /// <summary>Adds the Replicate generator, with an HttpClient from <see cref="IHttpClientFactory"/>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="ReplicateGeneratorOptions"/>; <see cref="ReplicateGeneratorOptions.ApiToken"/> is required.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddReplicateGenerator(this IMediaGenerationBuilder builder, Action<ReplicateGeneratorOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        AddCore(builder, httpClient: null);
        builder.Services.Configure(configure);
        return builder;
    }

    /// <summary>
    /// Adds the Replicate generator with options bound from <paramref name="section"/> (usually
    /// <c>MediaGen:Generators:Replicate</c>); an unknown key is a start-up error.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The configuration section.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddReplicateGenerator(this IMediaGenerationBuilder builder, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(section);
        AddCore(builder, httpClient: null);
        builder.Services.AddOptions<ReplicateGeneratorOptions>().Bind(section, o => o.ErrorOnUnknownConfiguration = true);
        return builder;
    }

    /// <summary>
    /// Adds the Replicate generator using <paramref name="httpClient"/> for every call. The caller owns the client;
    /// MediaGen never disposes it. Requests use absolute URLs built from <see cref="ReplicateGeneratorOptions.BaseUrl"/>.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="httpClient">The client.</param>
    /// <param name="configure">Configures <see cref="ReplicateGeneratorOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddReplicateGenerator(this IMediaGenerationBuilder builder, HttpClient httpClient, Action<ReplicateGeneratorOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(configure);
        AddCore(builder, httpClient);
        builder.Services.Configure(configure);
        return builder;
    }

    private static void AddCore(IMediaGenerationBuilder builder, HttpClient? httpClient)
    {
        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<ReplicateGeneratorOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ReplicateGeneratorOptions>, ReplicateGeneratorOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ReplicateGeneratorOptions>, ReplicateCatalogValidator>());
        if (httpClient is null)
        {
            // No overall client timeout: API calls carry their own (RequestTimeout), and output downloads stream for as
            // long as the attempt allows.
            services.AddHttpClient(HttpClientName, c => c.Timeout = Timeout.InfiniteTimeSpan);
            services.TryAddSingleton(sp => new ReplicateHttpClientSource(() => sp.GetRequiredService<IHttpClientFactory>().CreateClient(HttpClientName)));
        }
        else
        {
            services.Replace(ServiceDescriptor.Singleton(new ReplicateHttpClientSource(() => httpClient)));
        }

        builder.AddGenerator<ReplicateGenerator>();
    }
}
