using MediaGen;
using MediaGen.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

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
    public static IMediaGenerationBuilder AddProceduralGenerator(this IMediaGenerationBuilder builder, Action<ProceduralGeneratorOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        AddCore(builder);
        if (configure is not null)
        {
            builder.Services.Configure(configure);
        }

        return builder;
    }

    /// <summary>Adds the procedural generator with options bound from <paramref name="section"/>; an unknown key is a start-up error.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The configuration section, for example <c>MediaGen:Generators:Procedural</c>.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddProceduralGenerator(this IMediaGenerationBuilder builder, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(section);
        AddCore(builder);
        builder.Services.AddOptions<ProceduralGeneratorOptions>().Bind(section, o => o.ErrorOnUnknownConfiguration = true);
        return builder;
    }

    private static void AddCore(IMediaGenerationBuilder builder)
    {
        builder.Services.AddOptions<ProceduralGeneratorOptions>().ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ProceduralGeneratorOptions>, ProceduralGeneratorOptionsValidator>());
        builder.AddGenerator<ProceduralImageGenerator>();
    }
}
