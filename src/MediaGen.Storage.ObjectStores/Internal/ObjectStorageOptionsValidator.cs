using Microsoft.Extensions.Options;

namespace MediaGen.Storage.ObjectStores.Internal;

/// <summary>Validates what every object-store storage's options need: the prefix, the public base URL and the read-URL lifetime.</summary>
/// <typeparam name="TOptions">The storage's options.</typeparam>
internal sealed class ObjectStorageOptionsValidator<TOptions> : IValidateOptions<TOptions>
    where TOptions : ObjectStorageOptions
{
    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var (type, section) = (options.Profile.OptionsName, options.Profile.ConfigurationSection);
        var failures = new List<string>();
        if (!MediaStorageKeys.IsValidRootPrefix(options.Prefix))
        {
            failures.Add($"{type}.Prefix ({section}:Prefix) must be '/'-separated segments without empty, '.' or '..' segments, backslashes or colons, such as media/.");
        }

        if (options.PublicBaseUrl is { IsAbsoluteUri: false })
        {
            failures.Add($"{type}.PublicBaseUrl ({section}:PublicBaseUrl) must be an absolute URL such as https://cdn.example.com/.");
        }

        if (options.ReadUrlLifetime < TimeSpan.FromSeconds(1) || options.ReadUrlLifetime > TimeSpan.FromDays(7))
        {
            failures.Add($"{type}.ReadUrlLifetime ({section}:ReadUrlLifetime) must be between 1 second and 7 days (the longest a {options.Profile.SignedUrlName} can live).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
