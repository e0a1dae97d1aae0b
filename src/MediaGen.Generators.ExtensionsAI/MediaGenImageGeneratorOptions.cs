using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.AI;
using MediaGen.Shared;

namespace MediaGen;

/// <summary>Options of <c>MediaGenImageGenerator</c>, MediaGen behind the Microsoft.Extensions.AI <c>IImageGenerator</c> abstraction.</summary>
public sealed class MediaGenImageGeneratorOptions
{
    /// <summary>The MediaGen model a call asks for when its options name none (<see cref="ImageGenerationOptions.ModelId"/>).</summary>
    /// <value>The default value is null: a call must name its model.</value>
    public string? DefaultModel { get; set; }

    /// <summary>The owner jobs are submitted for (and charged to) when neither the call nor <see cref="ResolveOwnerId"/> names one.</summary>
    /// <value>The default value is null: a call without an owner is refused.</value>
    public string? DefaultOwnerId { get; set; }

    /// <summary>
    /// Names the owner of a call, for example from the signed-in user; it wins over <see cref="DefaultOwnerId"/> and yields
    /// to the call's own <c>owner_id</c> additional property. Not bound from configuration.
    /// </summary>
    /// <value>The default value is null.</value>
    public Func<ImageGenerationOptions?, string?>? ResolveOwnerId { get; set; }

    /// <summary>Whether the job is canceled (and refunded) when the caller cancels the call; otherwise it runs on unwatched.</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool CancelJobWhenCallerCancels { get; set; } = true;

    /// <summary>How outputs come back when the call does not say (<see cref="ImageGenerationOptions.ResponseFormat"/>).</summary>
    /// <value>
    /// The default value is <see cref="ImageGenerationResponseFormat.Uri"/>: storage read URLs (signed where the storage signs
    /// them, relative when the host serves the storage itself).
    /// </value>
    public ImageGenerationResponseFormat DefaultResponseFormat { get; set; } = ImageGenerationResponseFormat.Uri;

    /// <summary>How long signed read URLs stay valid; null for the storage's default.</summary>
    /// <value>The default value is null.</value>
    public TimeSpan? ReadUrlLifetime { get; set; }

    /// <summary>
    /// How often the job is read while waiting, besides each of its events: the event stream is best effort, the job store
    /// is the source of truth.
    /// </summary>
    /// <value>The default value is 5 seconds.</value>
    [TimeSpanRange("00:00:00.010", "00:10:00")]
    public TimeSpan StatusPollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The largest output read into a <see cref="DataContent"/>, in bytes.</summary>
    /// <value>The default value is 64 MiB.</value>
    [Range(1, int.MaxValue)]
    public int MaxDataBytes { get; set; } = 64 * 1024 * 1024;
}
