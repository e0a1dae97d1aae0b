using System.Globalization;

namespace MediaGen.Generators.Replicate.Internal;

/// <summary>
/// What the Replicate generator saves on the job: <c>creating:{time}</c> just before a create is sent, so an attempt
/// that finds it knows a prediction may exist that nobody saw, and the prediction's id once Replicate answered.
/// </summary>
internal static class ReplicateCheckpoint
{
    private const string CreatingPrefix = "creating:";

    /// <summary>The checkpoint saved before a create sent at <paramref name="startedAt"/>.</summary>
    public static string Creating(DateTimeOffset startedAt) =>
        CreatingPrefix + startedAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    /// <summary>Whether the checkpoint marks a create in flight, and when it was sent.</summary>
    public static bool TryGetCreateStart(string? checkpoint, out DateTimeOffset startedAt)
    {
        startedAt = default;
        return checkpoint is not null
            && checkpoint.StartsWith(CreatingPrefix, StringComparison.Ordinal)
            && DateTimeOffset.TryParse(checkpoint.AsSpan(CreatingPrefix.Length), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out startedAt);
    }

    /// <summary>The prediction id the checkpoint holds; null when there is none (or it marks a create in flight).</summary>
    public static string? PredictionId(string? checkpoint) =>
        string.IsNullOrEmpty(checkpoint) || checkpoint.StartsWith(CreatingPrefix, StringComparison.Ordinal) ? null : checkpoint;
}
