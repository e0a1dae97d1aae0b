using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace MediaGen.Internal;

/// <summary>
/// The built-in moderator: refuses a request whose prompt or negative prompt, normalised (<see cref="TextNormalization"/>),
/// contains a blocked term as a whole word or matches a blocked pattern. The terms become one compiled expression.
/// </summary>
internal sealed class BlockedTermsModerator : IContentModerator
{
    private readonly BlockedTermsModeratorOptions _options;
    private readonly Regex? _terms;
    private readonly Regex[] _patterns;

    public BlockedTermsModerator(IOptions<BlockedTermsModeratorOptions> options)
    {
        _options = options.Value;
        var terms = _options.Terms.Select(TextNormalization.ForMatching).Where(t => t.Length > 0).Distinct(StringComparer.Ordinal).ToList();

        // Whole words: no letter or digit may touch a term on either side. Escaped literals with one-character lookarounds
        // cannot backtrack badly, so this expression runs without a timeout: a busy machine must not turn a slow match of an
        // innocent prompt into a refusal. Only the operator's own patterns get PatternTimeout.
        _terms = terms.Count == 0 ? null : new Regex(
            $@"(?<![\p{{L}}\p{{N}}])(?:{string.Join('|', terms.OrderByDescending(t => t.Length).Select(Regex.Escape))})(?![\p{{L}}\p{{N}}])",
            RegexOptions.CultureInvariant | RegexOptions.Compiled,
            Regex.InfiniteMatchTimeout);
        _patterns = [.. _options.Patterns.Select(p => new Regex(p, RegexOptions.CultureInvariant | RegexOptions.IgnoreCase, _options.PatternTimeout))];
    }

    public string Name => "blocked-terms";

    public ValueTask<ModerationResult> ModerateAsync(GenerationRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (IsBlocked(request.Prompt))
        {
            return ValueTask.FromResult(ModerationResult.Blocked("prompt", _options.Reason));
        }

        return ValueTask.FromResult(request.NegativePrompt is { } negative && IsBlocked(negative)
            ? ModerationResult.Blocked("negativePrompt", _options.Reason)
            : ModerationResult.Allowed);
    }

    private bool IsBlocked(string text)
    {
        if (_terms is null && _patterns.Length == 0)
        {
            return false;
        }

        var normalized = TextNormalization.ForMatching(text);
        try
        {
            return (_terms?.IsMatch(normalized) ?? false) || _patterns.Any(p => p.IsMatch(normalized));
        }
        catch (RegexMatchTimeoutException)
        {
            // A text that cannot be checked in time is not let through unchecked.
            return true;
        }
    }
}
