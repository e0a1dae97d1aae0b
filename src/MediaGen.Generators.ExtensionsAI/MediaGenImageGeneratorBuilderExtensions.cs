using System.Diagnostics.CodeAnalysis;
using MediaGen;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using static Microsoft.Extensions.DependencyInjection.MediaGenerationAdapterBuilderExtensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registers <see cref="MediaGenImageGenerator"/>, MediaGen as the app's <see cref="IImageGenerator"/>. Experimental, as
/// <see cref="IImageGenerator"/> is (MEAI001).
/// </summary>
[Experimental("MEAI001", UrlFormat = "https://aka.ms/dotnet-extensions-warnings/{0}")]
public static class MediaGenImageGeneratorBuilderExtensions
{
    /// <summary>
    /// Registers <see cref="MediaGenImageGenerator"/> as the container's <see cref="IImageGenerator"/> (unless one is
    /// registered already; it is also resolvable as itself). Calls submit jobs through this process's
    /// <see cref="IMediaGenerationClient"/>, so a worker must run somewhere on the same backend.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="MediaGenImageGeneratorOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddMediaGenerationImageGenerator(this IMediaGenerationBuilder builder, Action<MediaGenImageGeneratorOptions>? configure = null) =>
        AddMediaGenerationImageGenerator(builder, configure, section: null);

    /// <summary>Registers <see cref="MediaGenImageGenerator"/> with options bound from <paramref name="section"/>; an unknown key is a start-up error.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The configuration section holding <see cref="MediaGenImageGeneratorOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddMediaGenerationImageGenerator(this IMediaGenerationBuilder builder, IConfigurationSection section) =>
        AddMediaGenerationImageGenerator(builder, configure: null, section ?? throw new ArgumentNullException(nameof(section)));

    private static IMediaGenerationBuilder AddMediaGenerationImageGenerator(IMediaGenerationBuilder builder, Action<MediaGenImageGeneratorOptions>? configure, IConfigurationSection? section)
    {
        builder.AddValidatedOptions<MediaGenImageGeneratorOptions, MediaGen.Generators.ExtensionsAI.Internal.MediaGenImageGeneratorOptionsValidator>(configure, section, static (o, s) => o.Bind(s, RejectUnknownKeys));
        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<MediaGenImageGenerator>();
        services.TryAddSingleton<IImageGenerator>(sp => sp.GetRequiredService<MediaGenImageGenerator>());
        return builder;
    }
}
