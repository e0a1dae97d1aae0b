using MediaGen;
using MediaGen.Imaging.SkiaSharp.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using static Microsoft.Extensions.DependencyInjection.MediaGenerationAdapterBuilderExtensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds SkiaSharp thumbnails: each stored output gets a thumbnail beside it and its true size and format recorded.</summary>
public static class SkiaThumbnailBuilderExtensions
{
    /// <summary>Uses SkiaSharp to make thumbnails. Calling it again only applies <paramref name="configure"/>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="SkiaThumbnailOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddSkiaSharpThumbnails(this IMediaGenerationBuilder builder, Action<SkiaThumbnailOptions>? configure = null) =>
        AddSkiaSharpThumbnails(builder, configure, section: null);

    /// <summary>Uses SkiaSharp to make thumbnails, with options bound from <paramref name="section"/>; an unknown key is a start-up error.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The configuration section, for example <c>MediaGen:Thumbnails</c>.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddSkiaSharpThumbnails(this IMediaGenerationBuilder builder, IConfigurationSection section) =>
        AddSkiaSharpThumbnails(builder, configure: null, section ?? throw new ArgumentNullException(nameof(section)));

    private static IMediaGenerationBuilder AddSkiaSharpThumbnails(IMediaGenerationBuilder builder, Action<SkiaThumbnailOptions>? configure, IConfigurationSection? section)
    {
        builder.AddValidatedOptions<SkiaThumbnailOptions, SkiaThumbnailOptionsValidator>(configure, section, static (o, s) => o.Bind(s, RejectUnknownKeys));
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IImageThumbnailer, SkiaThumbnailer>());
        return builder;
    }
}
