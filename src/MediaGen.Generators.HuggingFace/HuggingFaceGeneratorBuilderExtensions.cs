using MediaGen;
using MediaGen.Generators.HuggingFace.Internal;
using Microsoft.Extensions.Configuration;
using static Microsoft.Extensions.DependencyInjection.MediaGenerationAdapterBuilderExtensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the Hugging Face generator to MediaGen.</summary>
public static class HuggingFaceGeneratorBuilderExtensions
{
    /// <summary>The name of the <see cref="System.Net.Http.HttpClient"/> the generator gets from <see cref="IHttpClientFactory"/>; configure it with <c>services.AddHttpClient(name)</c>.</summary>
    public const string HttpClientName = "MediaGen.HuggingFace";

    /// <summary>Adds the Hugging Face generator, with an HttpClient from <see cref="IHttpClientFactory"/>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="HuggingFaceGeneratorOptions"/>; <see cref="HttpGeneratorOptions.ApiToken"/> is required.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddHuggingFaceGenerator(this IMediaGenerationBuilder builder, Action<HuggingFaceGeneratorOptions> configure) =>
        AddHuggingFaceGenerator(builder, configure ?? throw new ArgumentNullException(nameof(configure)), section: null, httpClient: null);

    /// <summary>
    /// Adds the Hugging Face generator with options bound from <paramref name="section"/> (usually
    /// <c>MediaGen:Generators:HuggingFace</c>); an unknown key is a start-up error.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The configuration section.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddHuggingFaceGenerator(this IMediaGenerationBuilder builder, IConfigurationSection section) =>
        AddHuggingFaceGenerator(builder, configure: null, section ?? throw new ArgumentNullException(nameof(section)), httpClient: null);

    /// <summary>
    /// Adds the Hugging Face generator using <paramref name="httpClient"/> for every call. The caller owns the client;
    /// MediaGen never disposes it. Requests use absolute URLs built from <see cref="HttpGeneratorOptions.BaseUrl"/>.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="httpClient">The client.</param>
    /// <param name="configure">Configures <see cref="HuggingFaceGeneratorOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddHuggingFaceGenerator(this IMediaGenerationBuilder builder, HttpClient httpClient, Action<HuggingFaceGeneratorOptions> configure) =>
        AddHuggingFaceGenerator(builder, configure ?? throw new ArgumentNullException(nameof(configure)), section: null, httpClient ?? throw new ArgumentNullException(nameof(httpClient)));

    private static IMediaGenerationBuilder AddHuggingFaceGenerator(
        IMediaGenerationBuilder builder, Action<HuggingFaceGeneratorOptions>? configure, IConfigurationSection? section, HttpClient? httpClient) =>
        builder.AddHttpGenerator<HuggingFaceGenerator, HuggingFaceGeneratorOptions, HuggingFaceGeneratorOptionsValidator>(HttpClientName, configure, section, static (o, s) => o.Bind(s, RejectUnknownKeys), httpClient);
}
