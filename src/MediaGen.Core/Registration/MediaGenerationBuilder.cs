using Microsoft.Extensions.DependencyInjection;

namespace MediaGen.Internal;

internal sealed class MediaGenerationBuilder(IServiceCollection services, SeamSelections selections) : IMediaGenerationBuilder
{
    public IServiceCollection Services { get; } = services;

    public SeamSelections Selections { get; } = selections;
}

/// <summary>Records which implementation each seam uses, so a second choice fails loudly instead of silently winning.</summary>
internal sealed class SeamSelections
{
    private readonly Dictionary<MediaGenerationSeam, string> _selected = [];

    public void Select(MediaGenerationSeam seam, string providerName)
    {
        if (_selected.TryGetValue(seam, out var existing))
        {
            throw new InvalidOperationException(
                $"MediaGen's {Describe(seam)} is already configured to use '{existing}'; it cannot also use '{providerName}'. Choose one.");
        }

        _selected[seam] = providerName;
    }

    public string? GetSelected(MediaGenerationSeam seam) => _selected.GetValueOrDefault(seam);

    private static string Describe(MediaGenerationSeam seam) => seam switch
    {
        MediaGenerationSeam.Queue => "queue",
        MediaGenerationSeam.JobStore => "job store",
        MediaGenerationSeam.CreditLedger => "credit ledger",
        MediaGenerationSeam.EventStream => "event stream",
        _ => "storage",
    };
}
