using System.ComponentModel.DataAnnotations;
using MediaGen.Generators.Http;
using MediaGen.Shared;

namespace MediaGen;

/// <summary>
/// The options every HTTP provider generator shares: where the API is, the token, and how calls are retried, timed
/// out and paused after a 429. Each provider derives a sealed options class that sets its defaults and adds its own.
/// </summary>
public abstract class HttpGeneratorOptions
{
    /// <summary>Initializes the options with the provider's base URL and call timeout.</summary>
    /// <param name="baseUrl">The provider's API base URL.</param>
    /// <param name="requestTimeout">The provider's default timeout of one call.</param>
    protected HttpGeneratorOptions(Uri baseUrl, TimeSpan requestTimeout)
    {
        BaseUrl = baseUrl;
        RequestTimeout = requestTimeout;
    }

    /// <summary>The API's base URL; point it at any server that speaks the provider's API.</summary>
    /// <value>The default value is the provider's public API (see the derived options class).</value>
    [Required]
    public Uri BaseUrl { get; set; }

    /// <summary>The API token, sent as a bearer token. Required; never logged.</summary>
    /// <value>The default value is empty, which fails validation at start-up.</value>
    public string ApiToken { get; set; } = string.Empty;

    /// <summary>
    /// How many times one call is retried within an attempt after a 429, a 5xx or a network error (or what the
    /// provider classifies as transient) before the attempt fails with a transient error for the worker to retry later.
    /// </summary>
    /// <value>The default value is 3.</value>
    [Range(0, 100)]
    public int MaxRequestRetries { get; set; } = 3;

    /// <summary>The first delay before retrying a call that failed without a Retry-After; it doubles on each retry.</summary>
    /// <value>The default value is 1 second.</value>
    [TimeSpanRange("00:00:00", "00:10:00")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The longest wait within an attempt: a Retry-After (or the provider's own estimate) longer than this fails the
    /// attempt at once (transient, carrying the wait) instead of holding a worker slot.
    /// </summary>
    /// <value>The default value is 30 seconds.</value>
    [TimeSpanRange("00:00:00", "01:00:00")]
    public TimeSpan MaxRetryWait { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the provider is paused after a 429 that carries no Retry-After.</summary>
    /// <value>The default value is 10 seconds.</value>
    [TimeSpanRange("00:00:00", "01:00:00")]
    public TimeSpan DefaultRateLimitPause { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The timeout of one API call.</summary>
    /// <value>The default value is the provider's (see the derived options class).</value>
    [TimeSpanRange("00:00:00.001", "00:30:00")]
    public TimeSpan RequestTimeout { get; set; }

    /// <summary>
    /// Hosts a model's output URLs may name even though they are (or resolve to) a loopback, private, link-local or
    /// other non-public address: a self-hosted model on a private network, or a test server on 127.0.0.1. Every other
    /// output URL must name a public host and is downloaded without redirects or a proxy, connecting only to the
    /// addresses checked; a refused URL fails that output permanently (refunded). The API's own host
    /// (<see cref="BaseUrl"/>) is trusted like the API calls and needs no entry.
    /// </summary>
    /// <value>The default value is empty.</value>
    public IList<string> AllowedNonPublicOutputHosts { get; } = [];

    /// <summary>Whether the provider's built-in model catalog is served.</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool IncludeBuiltInModels { get; set; } = true;

    /// <summary>Who the provider is, for messages and configuration paths; not bound from configuration.</summary>
    /// <value>The provider's profile.</value>
    protected internal abstract HttpGeneratorProfile Profile { get; }

    /// <summary>Builds the model catalog (built-in models merged with configuration) and says what is wrong with it.</summary>
    /// <param name="errors">What is wrong with the configured models, if anything.</param>
    /// <returns>The models by id, as descriptors.</returns>
    internal abstract IReadOnlyList<ModelDescriptor> BuildDescriptors(out IReadOnlyList<string> errors);
}

/// <summary>
/// The options of an HTTP provider generator whose models are <typeparamref name="TModel"/>: the shared options plus
/// the model catalog, built in and changed or extended by configuration value by value.
/// </summary>
/// <typeparam name="TModel">The provider's model options.</typeparam>
public abstract class HttpGeneratorOptions<TModel> : HttpGeneratorOptions
    where TModel : GeneratorModelOptions, new()
{
    /// <summary>Initializes the options with the provider's base URL and call timeout.</summary>
    /// <param name="baseUrl">The provider's API base URL.</param>
    /// <param name="requestTimeout">The provider's default timeout of one call.</param>
    protected HttpGeneratorOptions(Uri baseUrl, TimeSpan requestTimeout)
        : base(baseUrl, requestTimeout)
    {
    }

    /// <summary>
    /// Models to add, or changes to built-in ones, by MediaGen model id. For a built-in id only the values set here
    /// replace the built-in ones (for example just <see cref="GeneratorModelOptions.CostCredits"/>); a new id needs at
    /// least <see cref="GeneratorModelOptions.Model"/> and <see cref="GeneratorModelOptions.CostCredits"/>.
    /// </summary>
    /// <value>The default value is empty.</value>
    public IDictionary<string, TModel> Models { get; } = new Dictionary<string, TModel>(StringComparer.Ordinal);

    /// <summary>The provider's built-in catalog, as options so configuration merges over it value by value.</summary>
    /// <returns>Model id to its options; a new dictionary on every call.</returns>
    protected internal abstract Dictionary<string, TModel> CreateBuiltInModels();

    internal override IReadOnlyList<ModelDescriptor> BuildDescriptors(out IReadOnlyList<string> errors) =>
        [.. ProviderModelCatalog.Build(this, out errors).Values.Select(m => m.Descriptor)];
}
