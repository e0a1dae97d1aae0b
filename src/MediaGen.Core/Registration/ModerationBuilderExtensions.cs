using System.Diagnostics.CodeAnalysis;
using MediaGen;
using MediaGen.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using static Microsoft.Extensions.DependencyInjection.MediaGenerationAdapterBuilderExtensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Adds content moderators: checks that run at submission, in the order they were added, before anything is written or
/// charged. A refusal is <see cref="ContentBlockedException"/>.
/// </summary>
public static class ModerationBuilderExtensions
{
    /// <summary>Adds a moderator type, resolved from the container. Adding the same type twice has no effect.</summary>
    /// <typeparam name="TModerator">The moderator.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddContentModerator<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TModerator>(this IMediaGenerationBuilder builder)
        where TModerator : class, IContentModerator
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IContentModerator, TModerator>());
        return builder;
    }

    /// <summary>Adds a moderator instance. The caller owns it; MediaGen never disposes it.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="moderator">The moderator.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddContentModerator(this IMediaGenerationBuilder builder, IContentModerator moderator)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(moderator);
        builder.Services.AddSingleton(moderator);
        return builder;
    }

    /// <summary>
    /// Adds the built-in moderator, which refuses prompts containing blocked terms or matching blocked patterns, after
    /// normalising case, accents and invisible characters. Adding it again only applies <paramref name="configure"/>.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures <see cref="BlockedTermsModeratorOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddBlockedTermsModerator(this IMediaGenerationBuilder builder, Action<BlockedTermsModeratorOptions> configure) =>
        AddBlockedTermsModerator(builder, configure ?? throw new ArgumentNullException(nameof(configure)), section: null);

    /// <summary>Adds the built-in moderator with options bound from <paramref name="section"/>; an unknown key is a start-up error.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The configuration section, for example <c>MediaGen:Moderation</c>.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddBlockedTermsModerator(this IMediaGenerationBuilder builder, IConfigurationSection section) =>
        AddBlockedTermsModerator(builder, configure: null, section ?? throw new ArgumentNullException(nameof(section)));

    private static IMediaGenerationBuilder AddBlockedTermsModerator(IMediaGenerationBuilder builder, Action<BlockedTermsModeratorOptions>? configure, IConfigurationSection? section)
    {
        builder.AddValidatedOptions<BlockedTermsModeratorOptions, BlockedTermsModeratorOptionsValidator>(configure, section, static (o, s) => o.Bind(s, RejectUnknownKeys));
        return builder.AddContentModerator<BlockedTermsModerator>();
    }
}
