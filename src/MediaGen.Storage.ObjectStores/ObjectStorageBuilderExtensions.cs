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
    private const string ReflectionBinding =
        "Binds a generic options type with the reflection-based configuration binder. A storage package binds its own options " +
        "type instead (.Bind(section) on the returned OptionsBuilder, which the configuration binding source generator handles).";

    /// <summary>Uses an object-store storage, with options from <paramref name="configure"/>.</summary>
    /// <typeparam name="TOptions">The storage's options.</typeparam>
    /// <typeparam name="TValidator">The options' source-generated data-annotations validator.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="providerName">The storage's provider name, as in <c>MediaGen:Storage:Provider</c>.</param>
    /// <param name="create">Creates the storage from its options.</param>
    /// <param name="configure">Configures the options.</param>
    /// <returns>The options builder, for the storage's own checks.</returns>
    /// <exception cref="InvalidOperationException">Another storage was already chosen.</exception>
    public static OptionsBuilder<TOptions> UseObjectStorage<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TOptions, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TValidator>(
        this IMediaGenerationBuilder builder, string providerName, Func<IServiceProvider, TOptions, IMediaStorage> create, Action<TOptions> configure)
        where TOptions : ObjectStorageOptions
        where TValidator : class, IValidateOptions<TOptions>
    {
        ArgumentNullException.ThrowIfNull(configure);
        return UseCore<TOptions, TValidator>(builder, providerName, create).Configure(configure);
    }

    /// <summary>Uses an object-store storage, with options bound from <paramref name="section"/>; an unknown key is a start-up error.</summary>
    /// <typeparam name="TOptions">The storage's options.</typeparam>
    /// <typeparam name="TValidator">The options' source-generated data-annotations validator.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="providerName">The storage's provider name, as in <c>MediaGen:Storage:Provider</c>.</param>
    /// <param name="create">Creates the storage from its options.</param>
    /// <param name="section">The configuration section.</param>
    /// <returns>The options builder, for the storage's own checks.</returns>
    /// <exception cref="InvalidOperationException">Another storage was already chosen.</exception>
    /// <remarks>
    /// This overload binds through reflection, which trimming and Native AOT cannot follow; a storage package's own
    /// section overload calls the <see cref="Action{T}"/> overload and binds its concrete options type on the returned
    /// <see cref="OptionsBuilder{TOptions}"/>, which the configuration binding source generator handles.
    /// </remarks>
    [RequiresUnreferencedCode(ReflectionBinding)]
    [RequiresDynamicCode(ReflectionBinding)]
    public static OptionsBuilder<TOptions> UseObjectStorage<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TOptions, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TValidator>(
        this IMediaGenerationBuilder builder, string providerName, Func<IServiceProvider, TOptions, IMediaStorage> create, IConfigurationSection section)
        where TOptions : ObjectStorageOptions
        where TValidator : class, IValidateOptions<TOptions>
    {
        ArgumentNullException.ThrowIfNull(section);
        return UseCore<TOptions, TValidator>(builder, providerName, create).Bind(section, o => o.ErrorOnUnknownConfiguration = true);
    }

    private static OptionsBuilder<TOptions> UseCore<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TOptions, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TValidator>(IMediaGenerationBuilder builder, string providerName, Func<IServiceProvider, TOptions, IMediaStorage> create)
        where TOptions : ObjectStorageOptions
        where TValidator : class, IValidateOptions<TOptions>
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(providerName);
        ArgumentNullException.ThrowIfNull(create);
        builder.UseStorage(providerName, sp => create(sp, sp.GetRequiredService<IOptions<TOptions>>().Value));
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, ObjectStorageOptionsValidator<TOptions>>());
        return builder.Services.AddOptionsWithValidateOnStart<TOptions, TValidator>();
    }
}
