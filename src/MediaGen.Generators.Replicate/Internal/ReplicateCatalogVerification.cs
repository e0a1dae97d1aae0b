using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MediaGen.Generators.Replicate.Internal;

/// <summary>Runs <see cref="ReplicateCatalogVerifier"/> when the host starts, as <see cref="ReplicateGeneratorOptions.VerifyCatalog"/> asks.</summary>
internal sealed class ReplicateCatalogVerification(
    IOptions<ReplicateGeneratorOptions> options, ReplicateCatalogVerifier verifier, ILogger<ReplicateCatalogVerification> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var mode = options.Value.VerifyCatalog;
        if (mode == CatalogVerification.Off)
        {
            return;
        }

        IReadOnlyList<CatalogDisagreement> found;
        try
        {
            found = await verifier.VerifyAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (GenerationException e) when (mode == CatalogVerification.Warn)
        {
            Log.CatalogNotVerified(logger, e);
            return;
        }

        foreach (var disagreement in found)
        {
            Log.CatalogDisagrees(logger, disagreement.ModelId, disagreement.Setting, disagreement.Catalog, disagreement.Live);
        }

        if (found.Count > 0 && mode == CatalogVerification.Fail)
        {
            throw new InvalidOperationException(
                "The Replicate catalog disagrees with the models' live schemas (MediaGen:Generators:Replicate:VerifyCatalog is Fail): "
                + string.Join(" ", found));
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
