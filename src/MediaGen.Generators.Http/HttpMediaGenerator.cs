using MediaGen.Generators.Http.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MediaGen.Generators.Http;

/// <summary>
/// The base of a generator that calls a provider's HTTP API. It builds and serves the model catalog, checks each
/// request against its model's rules, and gives the provider a <see cref="ProviderHttpClient"/> with retries, timeouts
/// and the 429 pause shared by every worker (<see cref="ProviderRateGate"/>). A provider writes only its API mapping: the request, the response, and which error
/// answers are permanent (<see cref="ClassifyFailure"/>).
/// </summary>
/// <typeparam name="TModel">The provider's model options.</typeparam>
public abstract class HttpMediaGenerator<TModel> : IMediaGenerator
    where TModel : GeneratorModelOptions, new()
{
    /// <summary>Builds the catalog and the HTTP client; an invalid catalog throws <see cref="OptionsValidationException"/>.</summary>
    /// <param name="options">The provider's options.</param>
    /// <param name="httpClient">Returns the <see cref="HttpClient"/> for one call (never disposed here).</param>
    /// <param name="rateGate">
    /// The rate gate from the container, whose 429 pauses hold for every worker sharing the backend; the provider's pause
    /// is kept under <see cref="Name"/>, read here, so <see cref="Name"/> must not depend on the derived constructor.
    /// </param>
    /// <param name="timeProvider">The clock for delays, timeouts and pauses.</param>
    /// <param name="logger">The generator's logger.</param>
    protected HttpMediaGenerator(HttpGeneratorOptions<TModel> options, Func<HttpClient> httpClient, ProviderRateGate rateGate, TimeProvider timeProvider, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(rateGate);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        Catalog = ProviderModelCatalog.Build(options, out var errors);
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(options.GetType().Name, options.GetType(), errors);
        }

        Profile = options.Profile;
        TimeProvider = timeProvider;
        Logger = logger;
        Gate = rateGate;
        Http = new ProviderHttpClient(options, httpClient, rateGate, Name, timeProvider, logger, failure => ClassifyFailure(failure), retry => OnRetry(retry));
        Models = [.. Catalog.Values.Select(m => m.Descriptor)];
    }

    /// <inheritdoc />
    public abstract string Name { get; }

    /// <inheritdoc />
    public IReadOnlyList<ModelDescriptor> Models { get; }

    /// <summary>The gate every call of this generator waits on; a 429 pauses the provider there for every job in every process.</summary>
    public ProviderRateGate Gate { get; }

    /// <summary>The served models, by id.</summary>
    protected IReadOnlyDictionary<string, ProviderModel<TModel>> Catalog { get; }

    /// <summary>The provider's calls, with retries, timeouts and the 429 pause.</summary>
    protected ProviderHttpClient Http { get; }

    /// <summary>Who the provider is.</summary>
    protected HttpGeneratorProfile Profile { get; }

    /// <summary>The clock.</summary>
    protected TimeProvider TimeProvider { get; }

    /// <summary>The generator's logger.</summary>
    protected ILogger Logger { get; }

    /// <inheritdoc />
    public async ValueTask<GenerationResult> GenerateAsync(GenerationContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!Catalog.TryGetValue(context.Model.Id, out var model))
        {
            throw GenerationException.Permanent($"The {Profile.DisplayName} generator does not serve model '{context.Model.Id}'.");
        }

        ProviderModelCatalog.ThrowIfInvalid(model.Descriptor, context.Request);

        return await GenerateAsync(model, context, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs one attempt of a job whose request is valid for <paramref name="model"/>.</summary>
    /// <param name="model">The job's model.</param>
    /// <param name="context">The job's context.</param>
    /// <param name="cancellationToken">Stops the attempt.</param>
    /// <returns>The outputs.</returns>
    protected abstract ValueTask<GenerationResult> GenerateAsync(ProviderModel<TModel> model, GenerationContext context, CancellationToken cancellationToken);

    /// <summary>
    /// Turns an error answer (other than 429, which the kit handles) into the provider's exception: transient (retried,
    /// with any Retry-After or estimate) or permanent (with an error code and what to fix).
    /// </summary>
    /// <param name="failure">The answer.</param>
    /// <returns>The exception.</returns>
    protected abstract GenerationException ClassifyFailure(ProviderFailure failure);

    /// <summary>Logs a retry; override to say it the provider's way.</summary>
    /// <param name="retry">The retry.</param>
    protected virtual void OnRetry(ProviderRetry retry)
    {
        ArgumentNullException.ThrowIfNull(retry);
        Log.RetryingCall(Logger, Profile.DisplayName, retry.Call.Operation, retry.Delay, retry.Retry, retry.MaxRetries);
    }
}
