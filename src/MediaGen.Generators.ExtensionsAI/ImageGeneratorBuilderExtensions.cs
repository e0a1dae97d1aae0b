using System.Diagnostics.CodeAnalysis;
using MediaGen;
using MediaGen.Generators.ExtensionsAI.Internal;
using MediaGen.Shared;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using static Microsoft.Extensions.DependencyInjection.MediaGenerationAdapterBuilderExtensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Adds a Microsoft.Extensions.AI <see cref="IImageGenerator"/> (OpenAI's or Azure OpenAI's <c>ImageClient</c> through
/// <c>AsIImageGenerator()</c>, or any other) as MediaGen models: jobs for them are queued, retried, charged per image and
/// stored like any other. Experimental, as <see cref="IImageGenerator"/> is (MEAI001).
/// </summary>
[Experimental("MEAI001", UrlFormat = "https://aka.ms/dotnet-extensions-warnings/{0}")]
public static class ImageGeneratorBuilderExtensions
{
    /// <summary>The name of the <see cref="HttpClient"/> that downloads images returned as URLs; configure it with <c>services.AddHttpClient(name)</c>.</summary>
    public const string HttpClientName = "MediaGen.ExtensionsAI";

    /// <summary>
    /// Adds the image generator <paramref name="factory"/> creates as the generator <paramref name="name"/>, serving the
    /// models <see cref="ExtensionsAIGeneratorOptions.Models"/> lists. MediaGen disposes what the factory created.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="name">The generator's name, in logs and metrics, and the key its 429 pause is kept under, such as <c>openai</c>.</param>
    /// <param name="factory">Creates the image generator, once.</param>
    /// <param name="configure">Configures the generator's options (at least one model).</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">An image generator named <paramref name="name"/> was added already.</exception>
    public static IMediaGenerationBuilder AddImageGenerator(
        this IMediaGenerationBuilder builder, string name, Func<IServiceProvider, IImageGenerator> factory, Action<ExtensionsAIGeneratorOptions> configure) =>
        AddImageGenerator(builder, name, Owned(factory), configure ?? throw new ArgumentNullException(nameof(configure)), section: null);

    /// <summary>
    /// Adds the image generator <paramref name="factory"/> creates, with options bound from <paramref name="section"/>; an
    /// unknown key is a start-up error. MediaGen disposes what the factory created.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="name">The generator's name, such as <c>openai</c>.</param>
    /// <param name="factory">Creates the image generator, once.</param>
    /// <param name="section">The configuration section holding <see cref="ExtensionsAIGeneratorOptions"/>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">An image generator named <paramref name="name"/> was added already.</exception>
    public static IMediaGenerationBuilder AddImageGenerator(
        this IMediaGenerationBuilder builder, string name, Func<IServiceProvider, IImageGenerator> factory, IConfigurationSection section) =>
        AddImageGenerator(builder, name, Owned(factory), configure: null, section ?? throw new ArgumentNullException(nameof(section)));

    /// <summary>Adds <paramref name="generator"/>. The caller owns it; MediaGen never disposes it.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="name">The generator's name, such as <c>openai</c>.</param>
    /// <param name="generator">The image generator.</param>
    /// <param name="configure">Configures the generator's options (at least one model).</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">An image generator named <paramref name="name"/> was added already.</exception>
    public static IMediaGenerationBuilder AddImageGenerator(
        this IMediaGenerationBuilder builder, string name, IImageGenerator generator, Action<ExtensionsAIGeneratorOptions> configure) =>
        AddImageGenerator(builder, name, CallerOwned(generator), configure ?? throw new ArgumentNullException(nameof(configure)), section: null);

    /// <summary>
    /// Adds the <see cref="IImageGenerator"/> registered in the container under <paramref name="serviceKey"/> (the unkeyed
    /// one when null), as registered with <c>AddImageGenerator</c> or <c>AddKeyedImageGenerator</c> of Microsoft.Extensions.AI,
    /// middleware included. The container owns it.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="name">The generator's name, such as <c>openai</c>.</param>
    /// <param name="serviceKey">The service key, or null for the unkeyed service.</param>
    /// <param name="configure">Configures the generator's options (at least one model).</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">An image generator named <paramref name="name"/> was added already.</exception>
    public static IMediaGenerationBuilder AddKeyedImageGenerator(
        this IMediaGenerationBuilder builder, string name, object? serviceKey, Action<ExtensionsAIGeneratorOptions> configure) =>
        AddImageGenerator(builder, name, sp => (Resolve(sp, serviceKey), false), configure ?? throw new ArgumentNullException(nameof(configure)), section: null);

    /// <summary>
    /// Adds the <see cref="IImageGenerator"/> registered in the container under <paramref name="serviceKey"/>, with options
    /// bound from <paramref name="section"/>; an unknown key is a start-up error. The container owns it.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="name">The generator's name, such as <c>openai</c>.</param>
    /// <param name="serviceKey">The service key, or null for the unkeyed service.</param>
    /// <param name="section">The configuration section holding <see cref="ExtensionsAIGeneratorOptions"/>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="InvalidOperationException">An image generator named <paramref name="name"/> was added already.</exception>
    public static IMediaGenerationBuilder AddKeyedImageGenerator(
        this IMediaGenerationBuilder builder, string name, object? serviceKey, IConfigurationSection section) =>
        AddImageGenerator(builder, name, sp => (Resolve(sp, serviceKey), false), configure: null, section ?? throw new ArgumentNullException(nameof(section)));

    private static Func<IServiceProvider, (IImageGenerator Generator, bool Owned)> Owned(Func<IServiceProvider, IImageGenerator> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        return sp => (factory(sp), true);
    }

    private static Func<IServiceProvider, (IImageGenerator Generator, bool Owned)> CallerOwned(IImageGenerator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        return _ => (generator, false);
    }

    private static IImageGenerator Resolve(IServiceProvider services, object? serviceKey) =>
        serviceKey is null ? services.GetRequiredService<IImageGenerator>() : services.GetRequiredKeyedService<IImageGenerator>(serviceKey);

    // Every overload funnels here: the generator's named options registered, bound and validated at start-up, then the
    // generator itself.
    private static IMediaGenerationBuilder AddImageGenerator(
        IMediaGenerationBuilder builder,
        string name,
        Func<IServiceProvider, (IImageGenerator Generator, bool Owned)> source,
        Action<ExtensionsAIGeneratorOptions>? configure,
        IConfigurationSection? section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var services = builder.Services;
        if (services.Any(d => d.ServiceType == typeof(ImageGeneratorRegistration) && d.ImplementationInstance is ImageGeneratorRegistration r && r.Name == name))
        {
            throw new InvalidOperationException($"An image generator named '{name}' was added already; give each AddImageGenerator call a name of its own.");
        }

        services.AddSingleton(new ImageGeneratorRegistration(name));
        services.TryAddSingleton(TimeProvider.System);
        builder.AddValidatedOptions<ExtensionsAIGeneratorOptions, ExtensionsAIGeneratorOptionsValidator>(configure, section, static (o, s) => o.Bind(s, RejectUnknownKeys), name);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ExtensionsAIGeneratorOptions>, ExtensionsAIModelsValidator>());

        // No client-wide timeout: each download carries its own, and the body streams for as long as the attempt allows.
        // Image URLs are the model's choice: they are fetched through the same guard as webhooks (public addresses only
        // unless a generator allow-lists the host, checked at connect time, no redirects, no proxy).
        services.AddHttpClient(HttpClientName, c => c.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(sp =>
            {
                var monitor = sp.GetRequiredService<IOptionsMonitor<ExtensionsAIGeneratorOptions>>();
                var names = sp.GetServices<ImageGeneratorRegistration>().Select(r => r.Name).ToArray();
                return new OutboundConnectGuard(
                    DnsOutboundHostResolver.Instance,
                    () => names.SelectMany(n => monitor.Get(n).AllowedNonPublicOutputHosts),
                    "image").CreateHandler();
            });
        services.AddSingleton<IMediaGenerator>(sp =>
        {
            var (generator, owned) = source(sp);
            var http = sp.GetRequiredService<IHttpClientFactory>();
            return new ExtensionsAIMediaGenerator(
                name,
                sp.GetRequiredService<IOptionsMonitor<ExtensionsAIGeneratorOptions>>().Get(name),
                generator,
                owned,
                sp.GetRequiredService<ProviderRateGate>(),
                () => http.CreateClient(HttpClientName),
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<ExtensionsAIMediaGenerator>>());
        });
        return builder;
    }
}
