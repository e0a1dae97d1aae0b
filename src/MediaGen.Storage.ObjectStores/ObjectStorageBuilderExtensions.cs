using System.Diagnostics.CodeAnalysis;
using MediaGen;
using MediaGen.Storage.ObjectStores.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// The one registration every object-store storage funnels its <c>Use*Storage</c> overloads into: it chooses the
/// storage seam, and binds and validates the options at start-up.
/// </summary>
public static class ObjectStorageBuilderExtensions
{
    /// <summary>
    /// Uses an object-store storage, with options from <paramref name="configure"/> and <paramref name="section"/>: the one
    /// method a storage's private registration method calls, which its <c>(Action)</c>, <c>(IConfigurationSection)</c> and
    /// caller-owned client overloads funnel into.
    /// </summary>
    /// <typeparam name="TOptions">The storage's options.</typeparam>
    /// <typeparam name="TValidator">The options' source-generated data-annotations validator.</typeparam>
    /// <typeparam name="TStorage">The storage, named in the error a second storage choice raises.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="create">Creates the storage from its options.</param>
    /// <param name="configure">Configures the options; null applies nothing.</param>
    /// <param name="section">The configuration section the options are bound from; null binds nothing.</param>
    /// <param name="bindSection">
    /// Binds the section, written in the storage package on its concrete options type so the configuration binding source
    /// generator handles it: <c>static (options, s) =&gt; options.Bind(s, MediaGenerationAdapterBuilderExtensions.RejectUnknownKeys)</c>.
    /// </param>
    /// <returns>The options builder, for the storage's own checks.</returns>
    /// <exception cref="InvalidOperationException">Another storage was already chosen.</exception>
    public static OptionsBuilder<TOptions> UseObjectStorage<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TOptions, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TValidator, TStorage>(
        this IMediaGenerationBuilder builder,
        Func<IServiceProvider, TOptions, TStorage> create,
        Action<TOptions>? configure,
        IConfigurationSection? section,
        Action<OptionsBuilder<TOptions>, IConfigurationSection> bindSection)
        where TOptions : ObjectStorageOptions
        where TValidator : class, IValidateOptions<TOptions>
        where TStorage : class, IMediaStorage
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(create);
        builder.UseStorage(sp => create(sp, sp.GetRequiredService<IOptions<TOptions>>().Value));
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, ObjectStorageOptionsValidator<TOptions>>());
        return builder.AddValidatedOptions<TOptions, TValidator>(configure, section, bindSection);
    }
}
