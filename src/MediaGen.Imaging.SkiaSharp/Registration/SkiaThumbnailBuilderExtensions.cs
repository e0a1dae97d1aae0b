using MediaGen;
using MediaGen.Imaging.SkiaSharp.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds SkiaSharp thumbnails: each stored output gets a thumbnail beside it and its true size and format recorded.</summary>
public static class SkiaThumbnailBuilderExtensions
{
    /// <summary>Uses SkiaSharp to make thumbnails. Calling it again only applies <paramref name="configure"/>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="SkiaThumbnailOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddSkiaSharpThumbnails(this IMediaGenerationBuilder builder, Action<SkiaThumbnailOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        AddCore(builder);
        if (configure is not null)
        {
            builder.Services.Configure(configure);
        }

        return builder;
    }

    /// <summary>Uses SkiaSharp to make thumbnails, with options bound from <paramref name="section"/>; an unknown key is a start-up error.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The configuration section, for example <c>MediaGen:Thumbnails</c>.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddSkiaSharpThumbnails(this IMediaGenerationBuilder builder, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(section);
        AddCore(builder);
        builder.Services.AddOptions<SkiaThumbnailOptions>().Bind(section, o => o.ErrorOnUnknownConfiguration = true);
        return builder;
    }

    private static void AddCore(IMediaGenerationBuilder builder)
    {
        builder.Services.AddOptions<SkiaThumbnailOptions>().ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SkiaThumbnailOptions>, SkiaThumbnailOptionsValidator>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IImageThumbnailer, SkiaThumbnailer>());
    }
}
