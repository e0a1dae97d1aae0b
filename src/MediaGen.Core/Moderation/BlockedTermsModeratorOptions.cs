using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace MediaGen;

/// <summary>Options for the built-in blocked-terms moderator (<c>AddBlockedTermsModerator</c>).</summary>
/// <remarks>
/// The prompt and the negative prompt are normalised before they are checked, and so are the terms: lower case,
/// accents removed (so "Nudé" matches "nude"), zero-width and other invisible formatting characters removed (so
/// "n\u200Bude" matches too), and runs of white space made one space.
/// </remarks>
public sealed class BlockedTermsModeratorOptions
{
    /// <summary>
    /// Words and phrases refused wherever they appear as whole words: "gore" refuses "some gore here" but not "gorge".
    /// </summary>
    /// <value>The default value is empty.</value>
    public IList<string> Terms { get; set; } = [];

    /// <summary>
    /// Regular expressions (.NET syntax) refused wherever they match the normalised text, for what whole words cannot
    /// say (for example <c>\bkill(s|ed|ing)?\b</c>). Each match has <see cref="PatternTimeout"/> to run; a pattern that
    /// runs out of time refuses the request rather than let it through unchecked.
    /// </summary>
    /// <value>The default value is empty.</value>
    public IList<string> Patterns { get; set; } = [];

    /// <summary>
    /// How long one of <see cref="Patterns"/> may take on one text; past it the request is refused. Set it well above a
    /// match's normal time on a busy machine: it is there to stop a pattern that backtracks without end, not to time
    /// ordinary matches. Blocked <see cref="Terms"/> need no timeout (they cannot backtrack badly).
    /// </summary>
    /// <value>The default value is 1 second.</value>
    public TimeSpan PatternTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The reason a refusal gives the person who sent the request; it never repeats the term that matched.</summary>
    /// <value>The default value is "The request contains content that is not allowed.".</value>
    public string Reason { get; set; } = "The request contains content that is not allowed.";
}

/// <summary>Checks that every pattern compiles and the timeout and reason are sensible, at start-up.</summary>
internal sealed class BlockedTermsModeratorOptionsValidator : IValidateOptions<BlockedTermsModeratorOptions>
{
    public ValidateOptionsResult Validate(string? name, BlockedTermsModeratorOptions options)
    {
        var failures = new List<string>();
        if (options.PatternTimeout <= TimeSpan.Zero || options.PatternTimeout > TimeSpan.FromSeconds(10))
        {
            failures.Add($"{nameof(options.PatternTimeout)} must be more than zero and at most 10 seconds.");
        }

        if (string.IsNullOrWhiteSpace(options.Reason))
        {
            failures.Add($"{nameof(options.Reason)} must not be blank.");
        }

        for (var i = 0; i < options.Terms.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(options.Terms[i]))
            {
                failures.Add($"{nameof(options.Terms)}[{i}] is blank.");
            }
        }

        for (var i = 0; i < options.Patterns.Count; i++)
        {
            try
            {
                _ = new Regex(options.Patterns[i], RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
            }
            catch (ArgumentException e)
            {
                failures.Add($"{nameof(options.Patterns)}[{i}] is not a valid regular expression: {e.Message}");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
