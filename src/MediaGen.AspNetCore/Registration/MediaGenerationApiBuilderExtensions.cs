using MediaGen;
using MediaGen.AspNetCore.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using static Microsoft.Extensions.DependencyInjection.MediaGenerationAdapterBuilderExtensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers MediaGen's HTTP API, which <c>app.MapMediaGeneration(...)</c> then maps.</summary>
public static class MediaGenerationApiBuilderExtensions
{
    /// <summary>Registers the HTTP API with the default <see cref="MediaGenerationApiOptions"/>.</summary>
    /// <param name="builder">MediaGen's builder.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddHttpApi(this IMediaGenerationBuilder builder) => AddHttpApi(builder, configure: null, section: null);

    /// <summary>Registers the HTTP API.</summary>
    /// <param name="builder">MediaGen's builder.</param>
    /// <param name="configure">Configures <see cref="MediaGenerationApiOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddHttpApi(this IMediaGenerationBuilder builder, Action<MediaGenerationApiOptions> configure) =>
        AddHttpApi(builder, configure ?? throw new ArgumentNullException(nameof(configure)), section: null);

    /// <summary>
    /// Registers the HTTP API with <see cref="MediaGenerationApiOptions"/> bound from <paramref name="section"/> (for
    /// example <c>MediaGen:Api</c>); an unknown key is a start-up error.
    /// </summary>
    /// <param name="builder">MediaGen's builder.</param>
    /// <param name="section">The configuration section.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddHttpApi(this IMediaGenerationBuilder builder, IConfigurationSection section) =>
        AddHttpApi(builder, configure: null, section ?? throw new ArgumentNullException(nameof(section)));

    private static IMediaGenerationBuilder AddHttpApi(IMediaGenerationBuilder builder, Action<MediaGenerationApiOptions>? configure, IConfigurationSection? section)
    {
        builder.AddValidatedOptions<MediaGenerationApiOptions, MediaGenerationApiOptionsValidator>(configure, section, static (o, s) => o.Bind(s, RejectUnknownKeys));
        var services = builder.Services;
        services.AddHttpContextAccessor();
        services.AddOptions<WebhookOptions>().Configure<IOptions<MediaGenerationApiOptions>>((webhooks, api) => webhooks.PublicBaseUrl ??= api.Value.PublicBaseUrl);
        services.TryAddSingleton<ResponseMapper>();
        services.TryAddSingleton<ApiEndpointFilter>();
        services.TryAddSingleton(TimeProvider.System);
        return builder;
    }
}
