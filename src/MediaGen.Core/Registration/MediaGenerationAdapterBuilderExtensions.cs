using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// For adapter authors: the options half of the one registration method each <c>Use*</c>/<c>Add*</c> family funnels into.
/// A family has an <see cref="Action{T}"/> overload, an <see cref="IConfigurationSection"/> overload and, for clients, a
/// caller-owned instance or factory overload; each calls one private method of its package that takes the
/// <see cref="Action{T}"/> and the section (either may be null), registers and binds the options with
/// <see cref="AddValidatedOptions{TOptions, TValidator}(IMediaGenerationBuilder, Action{TOptions}?, IConfigurationSection?, Action{OptionsBuilder{TOptions}, IConfigurationSection}, string?)"/>,
/// and registers its services:
/// <code>
/// private static IMediaGenerationBuilder AddMyComponent(IMediaGenerationBuilder builder, Action&lt;MyOptions&gt;? configure, IConfigurationSection? section)
/// {
///     builder.AddValidatedOptions&lt;MyOptions, MyOptionsValidator&gt;(configure, section, static (options, s) =&gt; options.Bind(s, MediaGenerationAdapterBuilderExtensions.RejectUnknownKeys));
///     builder.Services.TryAddSingleton&lt;MyComponent&gt;();
///     return builder;
/// }
/// </code>
/// The section is bound in the adapter's own code, on its concrete options type, so the configuration binding source
/// generator handles it: a generic helper could bind only through reflection, which trimming and Native AOT cannot follow.
/// </summary>
public static class MediaGenerationAdapterBuilderExtensions
{
    /// <summary>
    /// Registers <typeparamref name="TOptions"/>, validated at start-up by <typeparamref name="TValidator"/>, and applies
    /// <paramref name="configure"/>. Calling it again for the same options adds only <paramref name="configure"/>.
    /// </summary>
    /// <typeparam name="TOptions">The options.</typeparam>
    /// <typeparam name="TValidator">The options' validator, usually a source-generated <see cref="OptionsValidatorAttribute"/> one.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures the options; null applies nothing.</param>
    /// <param name="name">The options' name, for components added more than once under names of their own; null for the default.</param>
    /// <returns>The options builder: bind a section on it, or add the component's own checks.</returns>
    public static OptionsBuilder<TOptions> AddValidatedOptions<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TOptions, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TValidator>(
        this IMediaGenerationBuilder builder, Action<TOptions>? configure = null, string? name = null)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptionsWithValidateOnStart<TOptions, TValidator>(name);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return options;
    }

    /// <summary>
    /// Registers <typeparamref name="TOptions"/>, validated at start-up by <typeparamref name="TValidator"/>, applies
    /// <paramref name="configure"/>, and binds <paramref name="section"/> with <paramref name="bindSection"/>. Calling it
    /// again for the same options adds only the new configuration.
    /// </summary>
    /// <typeparam name="TOptions">The options.</typeparam>
    /// <typeparam name="TValidator">The options' validator, usually a source-generated <see cref="OptionsValidatorAttribute"/> one.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Configures the options; null applies nothing.</param>
    /// <param name="section">The configuration section the options are bound from; null binds nothing.</param>
    /// <param name="bindSection">
    /// Binds the section on the options builder, written in the adapter on its concrete options type so the binding source
    /// generator handles it: <c>static (options, s) =&gt; options.Bind(s, MediaGenerationAdapterBuilderExtensions.RejectUnknownKeys)</c>.
    /// </param>
    /// <param name="name">The options' name, for components added more than once under names of their own; null for the default.</param>
    /// <returns>The options builder, for the component's own checks.</returns>
    public static OptionsBuilder<TOptions> AddValidatedOptions<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TOptions, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TValidator>(
        this IMediaGenerationBuilder builder,
        Action<TOptions>? configure,
        IConfigurationSection? section,
        Action<OptionsBuilder<TOptions>, IConfigurationSection> bindSection,
        string? name = null)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        ArgumentNullException.ThrowIfNull(bindSection);
        var options = AddValidatedOptions<TOptions, TValidator>(builder, configure, name);
        if (section is not null)
        {
            bindSection(options, section);
        }

        return options;
    }

    /// <summary>The binder settings every section overload binds with: a key the options do not have is a start-up error that names it.</summary>
    /// <param name="options">The binder settings.</param>
    public static void RejectUnknownKeys(BinderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ErrorOnUnknownConfiguration = true;
    }
}
