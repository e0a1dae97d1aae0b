using Microsoft.Extensions.Options;

namespace MediaGen.Generators.Replicate.Internal;

/// <summary>Validates <see cref="ReplicateGeneratorOptions"/>' data annotations at start-up.</summary>
[OptionsValidator]
internal sealed partial class ReplicateGeneratorOptionsValidator : IValidateOptions<ReplicateGeneratorOptions>
{
}

/// <summary>Validates the base URL and the model catalog (built-in models merged with configuration) at start-up.</summary>
internal sealed class ReplicateCatalogValidator : IValidateOptions<ReplicateGeneratorOptions>
{
    public ValidateOptionsResult Validate(string? name, ReplicateGeneratorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.BaseUrl is { } url && (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp)))
        {
            failures.Add("MediaGen:Generators:Replicate:BaseUrl must be an absolute http(s) URL, for example https://api.replicate.com/.");
        }

        ReplicateModelCatalog.Build(options, out var errors);
        failures.AddRange(errors);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>Where the generator gets its HttpClient: <see cref="IHttpClientFactory"/>, or the caller's own client (never disposed).</summary>
internal sealed class ReplicateHttpClientSource(Func<HttpClient> create)
{
    public HttpClient Create() => create();
}
