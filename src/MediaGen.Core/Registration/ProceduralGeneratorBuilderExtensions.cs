using MediaGen;
using MediaGen.Internal;
using Microsoft.Extensions.Configuration;
using static Microsoft.Extensions.DependencyInjection.MediaGenerationAdapterBuilderExtensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the procedural image generator: real PNG images drawn from the prompt and seed, with no account and no network.</summary>
public static class ProceduralGeneratorBuilderExtensions
{
    /// <summary>
    /// Adds the procedural generator, serving the models <c>procedural</c> and <c>procedural-hd</c>. Adding it again
    /// only applies <paramref name="configure"/>.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="ProceduralGeneratorOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddProceduralGenerator(this IMediaGenerationBuilder builder, Action<ProceduralGeneratorOptions>? configure = null) =>
        AddProceduralGenerator(builder, configure, section: null);

    /// <summary>Adds the procedural generator with options bound from <paramref name="section"/>; an unknown key is a start-up error.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The configuration section, for example <c>MediaGen:Generators:Procedural</c>.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddProceduralGenerator(this IMediaGenerationBuilder builder, IConfigurationSection section) =>
        AddProceduralGenerator(builder, configure: null, section ?? throw new ArgumentNullException(nameof(section)));

    private static IMediaGenerationBuilder AddProceduralGenerator(IMediaGenerationBuilder builder, Action<ProceduralGeneratorOptions>? configure, IConfigurationSection? section)
    {
        builder.AddValidatedOptions<ProceduralGeneratorOptions, ProceduralGeneratorOptionsValidator>(configure, section, static (o, s) => o.Bind(s, RejectUnknownKeys));
        return builder.AddGenerator<ProceduralImageGenerator>();
    }
}
