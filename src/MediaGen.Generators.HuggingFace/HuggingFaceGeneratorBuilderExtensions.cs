using MediaGen;
using MediaGen.Generators.HuggingFace.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the Hugging Face generator to MediaGen.</summary>
public static class HuggingFaceGeneratorBuilderExtensions
{
    /// <summary>The name of the <see cref="System.Net.Http.HttpClient"/> the generator gets from <see cref="IHttpClientFactory"/>; configure it with <c>services.AddHttpClient(name)</c>.</summary>
    public const string HttpClientName = "MediaGen.HuggingFace";

    /// <summary>Adds the Hugging Face generator, with an HttpClient from <see cref="IHttpClientFactory"/>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="HuggingFaceGeneratorOptions"/>; <see cref="HuggingFaceGeneratorOptions.ApiToken"/> is required.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddHuggingFaceGenerator(this IMediaGenerationBuilder builder, Action<HuggingFaceGeneratorOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        AddCore(builder, httpClient: null);
        builder.Services.Configure(configure);
        return builder;
    }

    /// <summary>
    /// Adds the Hugging Face generator with options bound from <paramref name="section"/> (usually
    /// <c>MediaGen:Generators:HuggingFace</c>); an unknown key is a start-up error.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The configuration section.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddHuggingFaceGenerator(this IMediaGenerationBuilder builder, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(section);
        AddCore(builder, httpClient: null);
        builder.Services.AddOptions<HuggingFaceGeneratorOptions>().Bind(section, o => o.ErrorOnUnknownConfiguration = true);
        return builder;
    }

    /// <summary>
    /// Adds the Hugging Face generator using <paramref name="httpClient"/> for every call. The caller owns the client;
    /// MediaGen never disposes it. Requests use absolute URLs built from <see cref="HuggingFaceGeneratorOptions.BaseUrl"/>.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="httpClient">The client.</param>
    /// <param name="configure">Configures <see cref="HuggingFaceGeneratorOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddHuggingFaceGenerator(this IMediaGenerationBuilder builder, HttpClient httpClient, Action<HuggingFaceGeneratorOptions> configure)
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
        services.AddOptions<HuggingFaceGeneratorOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HuggingFaceGeneratorOptions>, HuggingFaceGeneratorOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HuggingFaceGeneratorOptions>, HuggingFaceCatalogValidator>());
        if (httpClient is null)
        {
            // No overall client timeout: each call carries its own (RequestTimeout), measured on the injected TimeProvider.
            services.AddHttpClient(HttpClientName, c => c.Timeout = Timeout.InfiniteTimeSpan);
            services.TryAddSingleton(sp => new HuggingFaceHttpClientSource(() => sp.GetRequiredService<IHttpClientFactory>().CreateClient(HttpClientName)));
        }
        else
        {
            services.Replace(ServiceDescriptor.Singleton(new HuggingFaceHttpClientSource(() => httpClient)));
        }

        builder.AddGenerator<HuggingFaceGenerator>();
    }
}
