namespace MediaGen.Samples.Hosting;

/// <summary>The host's MediaGen configuration is invalid; the message names every offending key and what to fix.</summary>
public sealed class MediaGenConfigurationException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="errors">One line per problem, each starting with the configuration key.</param>
    public MediaGenConfigurationException(IReadOnlyList<string> errors)
        : base(BuildMessage(errors))
    {
        Errors = errors;
    }

    /// <summary>One line per problem, each starting with the configuration key.</summary>
    public IReadOnlyList<string> Errors { get; }

    private static string BuildMessage(IReadOnlyList<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        return errors.Count == 1
            ? "MediaGen configuration error: " + errors[0]
            : "MediaGen configuration errors:" + string.Concat(errors.Select(e => Environment.NewLine + " - " + e));
    }
}
