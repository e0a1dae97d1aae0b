using System.Globalization;

namespace MediaGen.Internal;

/// <summary>Reads run ids (<see cref="GenerationJob.RunId"/>) back into their job id and run.</summary>
internal static class JobRunIds
{
    /// <summary>
    /// Splits <c>{jobId}.{run}</c> (run 2 or more) into its parts; any other id is a job's first run. Job ids are hex,
    /// so the split is unambiguous for MediaGen's own ids.
    /// </summary>
    public static (string JobId, int Run) Parse(string runId)
    {
        var dot = runId.LastIndexOf('.');
        return dot > 0
            && int.TryParse(runId.AsSpan(dot + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var run)
            && run >= 2
            && string.Equals(GenerationJob.FormatRunId(runId[..dot], run), runId, StringComparison.Ordinal)
            ? (runId[..dot], run)
            : (runId, 1);
    }
}
