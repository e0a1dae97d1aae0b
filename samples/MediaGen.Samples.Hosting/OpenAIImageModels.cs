// IImageGenerator (MEAI001) and OpenAI's image options (OPENAI001) are experimental; this file is the sample's one use of them.
#pragma warning disable MEAI001, OPENAI001

using System.ClientModel;
using System.ClientModel.Primitives;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenAI;
using OpenAI.Images;

namespace MediaGen.Samples.Hosting;

/// <summary>
/// OpenAI's image models in the samples, through the official client as a Microsoft.Extensions.AI image generator, when
/// <c>MediaGen:Generators:OpenAI:ApiKey</c> is set. <c>Endpoint</c> points it at any OpenAI-compatible server,
/// <c>Model</c> names the provider model (<c>gpt-image-1</c>); every other key is <see cref="ExtensionsAIGeneratorOptions"/>.
/// Without <c>Models</c>, two models are served: <c>{Model}</c> (medium quality, 4 credits an image) and
/// <c>{Model}-hd</c> (high quality, 16), each 1 to 4 images at 1:1, 3:2 or 2:3 in PNG, JPEG or WebP.
/// </summary>
internal static class OpenAIImageModels
{
    public const string SectionName = "OpenAI";

    public const string ApiKeyKey = "ApiKey";

    private static readonly string[] SampleKeys = [ApiKeyKey, "Endpoint", "Model"];

    /// <summary>Checks the section's keys and values; a section with keys but no API key is a mistake worth naming.</summary>
    public static void Check(ConfigurationChecker checker, IConfigurationSection section)
    {
        if (!section.GetChildren().Any())
        {
            return;
        }

        if (string.IsNullOrWhiteSpace(section[ApiKeyKey]))
        {
            checker.Add(section.GetSection(ApiKeyKey).Path, $"is required to use the OpenAI image models (or remove {section.Path}).");
        }

        if (section["Endpoint"] is { } endpoint && !(Uri.TryCreate(endpoint, UriKind.Absolute, out var url) && (url.Scheme == Uri.UriSchemeHttps || url.Scheme == Uri.UriSchemeHttp)))
        {
            checker.Add(section.GetSection("Endpoint").Path, "must be an absolute http(s) URL, for example https://api.openai.com/v1.");
        }

        checker.Check<ExtensionsAIGeneratorOptions>(section, SampleKeys);
    }

    public static void Add(IMediaGenerationBuilder builder, IConfigurationSection section)
    {
        var apiKey = section[ApiKeyKey]!;
        var endpoint = section["Endpoint"] is { } text ? new Uri(text) : null;
        var model = section["Model"] ?? "gpt-image-1";
        var hdModel = model + "-hd";

        // The generator's own options, without the keys the sample reads: bound strictly, so a typo stops the host.
        var generatorKeys = section.AsEnumerable(makePathsRelative: true)
            .Where(kv => kv.Value is not null && !SampleKeys.Contains(kv.Key.Split(':')[0], StringComparer.OrdinalIgnoreCase))
            .Select(kv => new KeyValuePair<string, string?>($"{section.Path}:{kv.Key}", kv.Value));
        var generatorSection = new ConfigurationBuilder().AddInMemoryCollection(generatorKeys).Build().GetSection(section.Path);

        builder.AddImageGenerator("openai", _ => Client(model, apiKey, endpoint).AsIImageGenerator(), generatorSection);
        builder.Services.PostConfigure<ExtensionsAIGeneratorOptions>("openai", options =>
        {
            if (options.Models.Count == 0)
            {
                options.Models[model] = Model(model, cost: 4, "Medium quality");
                options.Models[hdModel] = Model(model, cost: 16, "High quality");
            }

            // Price by quality: the same provider model, asked for another quality under another MediaGen id.
            options.ConfigureRequest ??= (context, request) => request.RawRepresentationFactory = _ => new OpenAI.Images.ImageGenerationOptions
            {
                Quality = context.Model.Id == hdModel ? GeneratedImageQuality.HighQuality : GeneratedImageQuality.MediumQuality,
            };
        });
    }

    /// <summary>
    /// The official client with its own retries off: MediaGen retries what is safe to retry, and a retried timeout could
    /// pay for the same images twice. Its network timeout is longer than the slowest generation.
    /// </summary>
    private static ImageClient Client(string model, string apiKey, Uri? endpoint) =>
        new(model, new ApiKeyCredential(apiKey), new OpenAIClientOptions
        {
            Endpoint = endpoint,
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = TimeSpan.FromMinutes(5),
        });

    private static ExtensionsAIModelOptions Model(string providerModel, long cost, string quality) => new()
    {
        ProviderModel = providerModel,
        DisplayName = $"OpenAI {providerModel}, {quality.ToLowerInvariant()}",
        CostCredits = cost,
        ExpectedDuration = TimeSpan.FromSeconds(40),
        MaxOutputs = 4,
        Sizes = ["1024x1024", "1536x1024", "1024x1536"],
        OutputFormats = [OutputFormat.Png, OutputFormat.Jpeg, OutputFormat.Webp],
    };
}
