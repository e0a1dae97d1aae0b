using Microsoft.Extensions.Options;

namespace MediaGen.Generators.HuggingFace.Internal;

/// <summary>Validates <see cref="HuggingFaceGeneratorOptions"/>' data annotations at start-up.</summary>
[OptionsValidator]
internal sealed partial class HuggingFaceGeneratorOptionsValidator : IValidateOptions<HuggingFaceGeneratorOptions>
{
}

/// <summary>Validates the base URL and the model catalog (built-in models merged with configuration) at start-up.</summary>
internal sealed class HuggingFaceCatalogValidator : IValidateOptions<HuggingFaceGeneratorOptions>
{
    public ValidateOptionsResult Validate(string? name, HuggingFaceGeneratorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.BaseUrl is { } url && (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp)))
        {
            failures.Add("MediaGen:Generators:HuggingFace:BaseUrl must be an absolute http(s) URL, for example https://router.huggingface.co/hf-inference/.");
        }

        HuggingFaceModelCatalog.Build(options, out var errors);
        failures.AddRange(errors);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>Where the generator gets its HttpClient: <see cref="IHttpClientFactory"/>, or the caller's own client (never disposed).</summary>
internal sealed class HuggingFaceHttpClientSource(Func<HttpClient> create)
{
    public HttpClient Create() => create();
}
