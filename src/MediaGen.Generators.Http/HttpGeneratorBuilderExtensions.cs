using System.Diagnostics.CodeAnalysis;
using MediaGen;
using MediaGen.Generators.Http;
using MediaGen.Generators.Http.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// The one registration every HTTP provider generator funnels its <c>Add*Generator</c> overloads into: options bound
/// and validated at start-up, the HttpClient from <see cref="IHttpClientFactory"/> or the caller's own, the generator
/// added once however often it is called.
/// </summary>
public static class HttpGeneratorBuilderExtensions
{
    private const string ReflectionBinding =
        "Binds a generic options type with the reflection-based configuration binder. A provider package binds its own options " +
        "type instead (services.AddOptions<TOptions>().Bind(section), which the configuration binding source generator handles).";

    /// <summary>Adds <typeparamref name="TGenerator"/> with options from <paramref name="configure"/>.</summary>
    /// <typeparam name="TGenerator">The generator.</typeparam>
    /// <typeparam name="TOptions">Its options.</typeparam>
    /// <typeparam name="TValidator">The options' source-generated data-annotations validator.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="httpClientName">The name of the client taken from <see cref="IHttpClientFactory"/> when <paramref name="httpClient"/> is null.</param>
    /// <param name="configure">Configures the options.</param>
    /// <param name="httpClient">The caller's client, used for every call and never disposed; null to use the factory's.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddHttpGenerator<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TGenerator, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TOptions, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TValidator>(
        this IMediaGenerationBuilder builder, string httpClientName, Action<TOptions> configure, HttpClient? httpClient = null)
        where TGenerator : class, IMediaGenerator
        where TOptions : HttpGeneratorOptions
        where TValidator : class, IValidateOptions<TOptions>
    {
        ArgumentNullException.ThrowIfNull(configure);
        AddCore<TGenerator, TOptions, TValidator>(builder, httpClientName, httpClient).Configure(configure);
        return builder;
    }

    /// <summary>Adds <typeparamref name="TGenerator"/> with options bound from <paramref name="section"/>; an unknown key is a start-up error.</summary>
    /// <typeparam name="TGenerator">The generator.</typeparam>
    /// <typeparam name="TOptions">Its options.</typeparam>
    /// <typeparam name="TValidator">The options' source-generated data-annotations validator.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="httpClientName">The name of the client taken from <see cref="IHttpClientFactory"/>.</param>
    /// <param name="section">The configuration section.</param>
    /// <returns>The builder.</returns>
    /// <remarks>
    /// This overload binds through reflection, which trimming and Native AOT cannot follow; a provider package's own
    /// section overload calls <see cref="AddHttpGenerator{TGenerator, TOptions, TValidator}(IMediaGenerationBuilder, string, Action{TOptions}, HttpClient?)"/>
    /// and binds its concrete options type, which the configuration binding source generator handles.
    /// </remarks>
    [RequiresUnreferencedCode(ReflectionBinding)]
    [RequiresDynamicCode(ReflectionBinding)]
    public static IMediaGenerationBuilder AddHttpGenerator<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TGenerator, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TOptions, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TValidator>(
        this IMediaGenerationBuilder builder, string httpClientName, IConfigurationSection section)
        where TGenerator : class, IMediaGenerator
        where TOptions : HttpGeneratorOptions
        where TValidator : class, IValidateOptions<TOptions>
    {
        ArgumentNullException.ThrowIfNull(section);
        AddCore<TGenerator, TOptions, TValidator>(builder, httpClientName, httpClient: null).Bind(section, o => o.ErrorOnUnknownConfiguration = true);
        return builder;
    }

    private static OptionsBuilder<TOptions> AddCore<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TGenerator, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TOptions, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TValidator>(IMediaGenerationBuilder builder, string httpClientName, HttpClient? httpClient)
        where TGenerator : class, IMediaGenerator
        where TOptions : HttpGeneratorOptions
        where TValidator : class, IValidateOptions<TOptions>
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(httpClientName);
        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, HttpGeneratorOptionsValidator<TOptions>>());
        if (httpClient is null)
        {
            // No overall client timeout: each call carries its own (RequestTimeout, on the injected TimeProvider), and
            // output downloads stream for as long as the attempt allows.
            services.AddHttpClient(httpClientName, c => c.Timeout = Timeout.InfiniteTimeSpan);
            services.TryAddSingleton(sp => new ProviderHttpClientSource<TOptions>(() => sp.GetRequiredService<IHttpClientFactory>().CreateClient(httpClientName)));
        }
        else
        {
            services.Replace(ServiceDescriptor.Singleton(new ProviderHttpClientSource<TOptions>(() => httpClient)));
        }

        builder.AddGenerator<TGenerator>();
        return services.AddOptionsWithValidateOnStart<TOptions, TValidator>();
    }
}
