using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using MediaGen.Shared;

namespace MediaGen;

/// <summary>
/// The result cache: a request identical to an earlier succeeded job (same model, prompt, negative prompt, settings,
/// parameters and a fixed seed) is served from copies of that job's outputs, without calling the provider. Off unless a
/// model is listed in <see cref="Models"/> or a request opts in (<see cref="GenerationRequest.UseResultCache"/>).
/// </summary>
public sealed class ResultCacheOptions
{
    /// <summary>
    /// The ids of the models whose fixed-seed requests are cached unless a request opts out with
    /// <see cref="GenerationRequest.UseResultCache"/> = <see langword="false"/>.
    /// </summary>
    /// <value>The default value is empty: no model is cached by default.</value>
    public IList<string> Models { get; set; } = [];

    /// <summary>
    /// Whether a request may opt in with <see cref="GenerationRequest.UseResultCache"/> = <see langword="true"/> for a
    /// model not in <see cref="Models"/>. Set to <see langword="false"/> to cache only the models listed.
    /// </summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool AllowRequestOptIn { get; set; } = true;

    /// <summary>What a cache hit costs, in credits, whatever the number of outputs.</summary>
    /// <value>The default value is 0: a cache hit is free.</value>
    [Range(0, long.MaxValue)]
    public long CacheHitCredits { get; set; }

    /// <summary>How long after a job succeeded its outputs serve identical requests.</summary>
    /// <value>The default value is 7 days.</value>
    [TimeSpanRange("00:00:01", "365.00:00:00")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);
}

/// <summary>Validates <see cref="ResultCacheOptions"/> at start-up.</summary>
[OptionsValidator]
internal sealed partial class ResultCacheOptionsValidator : IValidateOptions<ResultCacheOptions>
{
}
