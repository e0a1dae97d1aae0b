using System.Diagnostics.CodeAnalysis;
using MediaGen;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

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
    public static IMediaGenerationBuilder AddMediaGenerationImageGenerator(this IMediaGenerationBuilder builder, Action<MediaGenImageGeneratorOptions>? configure = null)
    {
        var options = AddCore(builder);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return builder;
    }

    /// <summary>Registers <see cref="MediaGenImageGenerator"/> with options bound from <paramref name="section"/>; an unknown key is a start-up error.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The configuration section holding <see cref="MediaGenImageGeneratorOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddMediaGenerationImageGenerator(this IMediaGenerationBuilder builder, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        AddCore(builder).Bind(section, o => o.ErrorOnUnknownConfiguration = true);
        return builder;
    }

    private static OptionsBuilder<MediaGenImageGeneratorOptions> AddCore(IMediaGenerationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<MediaGenImageGenerator>();
        services.TryAddSingleton<IImageGenerator>(sp => sp.GetRequiredService<MediaGenImageGenerator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MediaGenImageGeneratorOptions>, MediaGen.Generators.ExtensionsAI.Internal.MediaGenImageGeneratorOptionsValidator>());
        return services.AddOptions<MediaGenImageGeneratorOptions>().ValidateOnStart();
    }
}
