using MediaGen.Generators.Http;
using MediaGen.Generators.Replicate.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MediaGen;

/// <summary>One way the Replicate catalog's rules for a model differ from the model's live schema.</summary>
/// <param name="ModelId">The MediaGen model id, for example <c>flux-1.1-pro</c>.</param>
/// <param name="Setting">What differs, for example <c>parameters.safety_tolerance maximum</c> or <c>aspect ratios</c>.</param>
/// <param name="Catalog">What the catalog says.</param>
/// <param name="Live">What the live schema says.</param>
public sealed record CatalogDisagreement(string ModelId, string Setting, string Catalog, string Live)
{
    /// <inheritdoc />
    public override string ToString() => $"{ModelId}: {Setting} is {Catalog} in the catalog but {Live} on Replicate.";
}

/// <summary>When the Replicate catalog is checked against the models' live schemas.</summary>
public enum CatalogVerification
{
    /// <summary>Never at start-up; call <see cref="ReplicateCatalogVerifier.VerifyAsync"/> when you want to.</summary>
    Off,

    /// <summary>At start-up, logging each disagreement (and a schema that cannot be read) as a warning.</summary>
    Warn,

    /// <summary>At start-up, stopping the host when any model disagrees or its schema cannot be read.</summary>
    Fail,
}

/// <summary>
/// Checks the Replicate catalog (built-in models merged with configuration) against each model's live input schema:
/// <c>GET /v1/models/{owner}/{name}</c> and its <c>latest_version.openapi_schema</c>, or the pinned version's schema
/// (<c>GET /v1/models/{owner}/{name}/versions/{id}</c>). It reports where the rules MediaGen validates requests by
/// differ: parameter names, kinds, ranges and allowed values, aspect ratios, the most outputs, dimensions, output
/// formats, seed and negative prompt. Registered by <c>AddReplicateGenerator</c>; run it from a command, a health check
/// or at start-up (<see cref="ReplicateGeneratorOptions.VerifyCatalog"/>).
/// </summary>
public sealed class ReplicateCatalogVerifier
{
    private readonly IReadOnlyDictionary<string, ProviderModel<ReplicateModelOptions>> _catalog;
    private readonly ReplicateApiClient _api;

    /// <summary>Creates the verifier over the generator's options and HTTP client.</summary>
    /// <param name="options">The Replicate generator's options.</param>
    /// <param name="httpClient">Where the generator's <see cref="HttpClient"/> comes from.</param>
    /// <param name="rateGate">The rate gate the generator's calls share.</param>
    /// <param name="timeProvider">The clock.</param>
    /// <param name="logger">The logger.</param>
    public ReplicateCatalogVerifier(
        IOptions<ReplicateGeneratorOptions> options,
        ProviderHttpClientSource<ReplicateGeneratorOptions> httpClient,
        ProviderRateGate rateGate,
        TimeProvider timeProvider,
        ILogger<ReplicateCatalogVerifier> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(httpClient);
        var value = options.Value;
        _catalog = ProviderModelCatalog.Build(value, out _);
        var http = new ProviderHttpClient(value, httpClient.Create, rateGate, ReplicateGenerator.GeneratorName, timeProvider, logger, ReplicateApiClient.Classify);
        _api = new ReplicateApiClient(value, http);
    }

    /// <summary>Fetches every served model's live schema and compares it with the catalog.</summary>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The disagreements, by model id; empty when the catalog matches.</returns>
    /// <exception cref="GenerationException">A model or its schema could not be read (404, 401, a network failure).</exception>
    public async Task<IReadOnlyList<CatalogDisagreement>> VerifyAsync(CancellationToken cancellationToken = default)
    {
        var found = new List<CatalogDisagreement>();
        foreach (var model in _catalog.Values.OrderBy(m => m.Id, StringComparer.Ordinal))
        {
            var schema = await _api.GetInputSchemaAsync(model.Owner, model.Name, model.Options.Version, cancellationToken).ConfigureAwait(false);
            found.AddRange(ReplicateSchemaComparer.Compare(model, schema));
        }

        return found;
    }
}
