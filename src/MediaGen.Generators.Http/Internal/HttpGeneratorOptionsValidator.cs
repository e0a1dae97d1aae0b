using Microsoft.Extensions.Options;

namespace MediaGen.Generators.Http.Internal;

/// <summary>Validates what every HTTP provider's options need beyond data annotations: the token, the base URL and the model catalog.</summary>
/// <typeparam name="TOptions">The provider's options.</typeparam>
internal sealed class HttpGeneratorOptionsValidator<TOptions> : IValidateOptions<TOptions>
    where TOptions : HttpGeneratorOptions
{
    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var profile = options.Profile;
        var failures = new List<string>();
        if (string.IsNullOrEmpty(options.ApiToken))
        {
            failures.Add($"Set {profile.ConfigurationSection}:ApiToken to {profile.ApiTokenDescription}.");
        }

        if (options.BaseUrl is { } url && (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp)))
        {
            failures.Add($"{profile.ConfigurationSection}:BaseUrl must be an absolute http(s) URL, for example {profile.BaseUrlExample}.");
        }

        options.BuildDescriptors(out var errors);
        failures.AddRange(errors);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
