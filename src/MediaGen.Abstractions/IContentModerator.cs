namespace MediaGen;

/// <summary>
/// Checks a request before anything is written or charged. MediaGen runs every registered moderator, in the order they
/// were added, when a job is submitted; the first refusal stops the submission with
/// <see cref="ContentBlockedException"/>. Provider-side refusals during generation are a different thing: they fail the
/// job with <see cref="MediaGenErrorCodes.ContentFiltered"/> and refund it.
/// </summary>
public interface IContentModerator
{
    /// <summary>A short, stable name for logs and for <see cref="ContentBlockedException.Moderator"/>.</summary>
    string Name { get; }

    /// <summary>Decides whether <paramref name="request"/> may be submitted.</summary>
    /// <param name="request">The request, already validated (prompt present and within its limits).</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns><see cref="ModerationResult.Allowed"/>, or a refusal naming the field and the reason.</returns>
    ValueTask<ModerationResult> ModerateAsync(GenerationRequest request, CancellationToken cancellationToken = default);
}

/// <summary>What a moderator decided about a request.</summary>
public readonly record struct ModerationResult
{
    /// <summary>The request may go on.</summary>
    public static ModerationResult Allowed => default;

    /// <summary>Whether the request was refused.</summary>
    public bool IsBlocked { get; private init; }

    /// <summary>For a refusal: the request field it is about, for example <c>prompt</c> or <c>negativePrompt</c>.</summary>
    public string? Field { get; private init; }

    /// <summary>For a refusal: why, in words fit to show the person who sent the request.</summary>
    public string? Reason { get; private init; }

    /// <summary>Refuses the request.</summary>
    /// <param name="field">The request field the refusal is about.</param>
    /// <param name="reason">Why, fit to show the person who sent the request.</param>
    /// <returns>The refusal.</returns>
    public static ModerationResult Blocked(string field, string reason)
    {
        ArgumentException.ThrowIfNullOrEmpty(field);
        ArgumentException.ThrowIfNullOrEmpty(reason);
        return new ModerationResult { IsBlocked = true, Field = field, Reason = reason };
    }
}
