using System.ComponentModel.DataAnnotations;
using MediaGen.Samples.Hosting;
using Microsoft.Extensions.Options;

namespace MediaGen.Samples.Api;

/// <summary>The API host's own settings, from <c>MediaGen:Samples</c>.</summary>
public sealed class SampleApiOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "MediaGen:Samples";

    /// <summary>
    /// API key to owner id (<c>MediaGen:Samples:ApiKeys:{key} = {ownerId}</c>). With none, every caller is
    /// <see cref="DemoOwnerId"/>; with some, a request without a known key gets 401.
    /// </summary>
    /// <value>The default value is empty.</value>
    public Dictionary<string, string> ApiKeys { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The owner every caller is when no API keys are configured.</summary>
    /// <value>The default value is <c>demo</c>.</value>
    [Required]
    [StringLength(128, MinimumLength = 1)]
    public string DemoOwnerId { get; set; } = "demo";

    /// <summary>How often an idle server-sent event stream sends a comment line, so proxies keep it open.</summary>
    /// <value>The default value is 15 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan SseHeartbeatInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Reads and checks the options; every error names its key.</summary>
    /// <param name="configuration">The host's configuration.</param>
    /// <returns>The options.</returns>
    /// <exception cref="MediaGenConfigurationException">The section holds an unknown key or an invalid value.</exception>
    public static SampleApiOptions Read(IConfiguration configuration)
    {
        var section = configuration.GetSection(SectionName);
        var checker = new ConfigurationChecker();
        var options = checker.Check<SampleApiOptions>(section);
        if (options is not null)
        {
            foreach (var (key, owner) in options.ApiKeys)
            {
                if (string.IsNullOrWhiteSpace(key) || string.IsNullOrWhiteSpace(owner))
                {
                    // Never echo the key itself: it is a secret.
                    checker.Add(section.GetSection("ApiKeys").Path, "has an entry with an empty key or owner id; use ApiKeys:{key} = {ownerId}.");
                }
            }
        }

        checker.ThrowIfInvalid();
        return options!;
    }
}
