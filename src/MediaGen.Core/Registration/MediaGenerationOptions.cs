using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace MediaGen;

/// <summary>Options for submission and job life time, shared by producers and workers.</summary>
public sealed class MediaGenerationOptions
{
    /// <summary>How many attempts a job gets before it is failed and dead-lettered.</summary>
    /// <value>The default value is 5.</value>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 5;

    /// <summary>How long after submission a job may still be attempted; past it the job fails with <c>deadline_exceeded</c> and its provider work is canceled.</summary>
    /// <value>The default value is 1 hour.</value>
    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan JobDeadline { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The longest idempotency key accepted.</summary>
    /// <value>The default value is 255.</value>
    [Range(1, 1024)]
    public int MaxIdempotencyKeyLength { get; set; } = 255;
}

/// <summary>Validates <see cref="MediaGenerationOptions"/> at start-up.</summary>
[OptionsValidator]
internal sealed partial class MediaGenerationOptionsValidator : IValidateOptions<MediaGenerationOptions>
{
}
