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
    /// <summary>
    /// Adds <typeparamref name="TGenerator"/> with options from <paramref name="configure"/> and <paramref name="section"/>:
    /// the one method a provider's private registration method calls, which its <c>(Action)</c>,
    /// <c>(IConfigurationSection)</c> and <c>(HttpClient, Action)</c> overloads funnel into.
    /// </summary>
    /// <typeparam name="TGenerator">The generator.</typeparam>
    /// <typeparam name="TOptions">Its options.</typeparam>
    /// <typeparam name="TValidator">The options' source-generated data-annotations validator.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="httpClientName">The name of the client taken from <see cref="IHttpClientFactory"/> when <paramref name="httpClient"/> is null.</param>
    /// <param name="configure">Configures the options; null applies nothing.</param>
    /// <param name="section">The configuration section the options are bound from; null binds nothing.</param>
    /// <param name="bindSection">
    /// Binds the section, written in the provider package on its concrete options type so the configuration binding source
    /// generator handles it: <c>static (options, s) =&gt; options.Bind(s, MediaGenerationAdapterBuilderExtensions.RejectUnknownKeys)</c>.
    /// </param>
    /// <param name="httpClient">The caller's client, used for every call and never disposed; null to use the factory's.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddHttpGenerator<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TGenerator, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TOptions, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TValidator>(
        this IMediaGenerationBuilder builder,
        string httpClientName,
        Action<TOptions>? configure,
        IConfigurationSection? section,
        Action<OptionsBuilder<TOptions>, IConfigurationSection> bindSection,
        HttpClient? httpClient = null)
        where TGenerator : class, IMediaGenerator
        where TOptions : HttpGeneratorOptions
        where TValidator : class, IValidateOptions<TOptions>
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(httpClientName);
        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, HttpGeneratorOptionsValidator<TOptions>>());
        builder.AddValidatedOptions<TOptions, TValidator>(configure, section, bindSection);
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

        return builder.AddGenerator<TGenerator>();
    }
}
