using System.Net;
using System.Net.Http.Headers;
using MediaGen.Generators.Http.Internal;
using MediaGen.Shared;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace MediaGen.Generators.Http;

/// <summary>
/// Makes a provider generator's API calls. Each try first waits for the provider's pause on the
/// <see cref="ProviderRateGate"/>, then sends with the bearer token inside a timeout; a 429 pauses the provider for every
/// job in every process sharing the gate's store (for its Retry-After, in seconds or as an HTTP date, else the reset of
/// its <c>RateLimit</c> header, else <see cref="HttpGeneratorOptions.DefaultRateLimitPause"/>). 429s, network errors, timeouts and
/// the answers the provider classifies as transient are retried by a Microsoft.Extensions.Http.Resilience retry
/// strategy: exponential from <see cref="HttpGeneratorOptions.RetryBaseDelay"/> without jitter, or the Retry-After
/// (or provider estimate) when there is one; after a 429 the gate is the delay. A wait longer than
/// <see cref="HttpGeneratorOptions.MaxRetryWait"/>, or the last of <see cref="HttpGeneratorOptions.MaxRequestRetries"/>,
/// fails the call with the classified <see cref="GenerationException"/>, carrying the wait for the worker.
/// </summary>
public sealed class ProviderHttpClient
{
    private static readonly ResiliencePropertyKey<CallState> StateKey = new("MediaGen.ProviderCall");
    private static readonly ResiliencePropertyKey<TimeSpan> TimeoutKey = new("MediaGen.ProviderCallTimeout");

    private readonly HttpGeneratorOptions _options;
    private readonly Func<HttpClient> _httpClient;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Func<ProviderFailure, GenerationException> _classify;
    private readonly Action<ProviderRetry>? _onRetry;
    private readonly ResiliencePipeline<HttpResponseMessage> _retry;
    private readonly ResiliencePipeline _timeout;
    private readonly Lazy<HttpClient> _outputClient;

    /// <summary>Creates the client.</summary>
    /// <param name="options">The provider's options (token, retries, timeouts).</param>
    /// <param name="httpClient">Returns the <see cref="HttpClient"/> for one call.</param>
    /// <param name="gate">The rate gate, shared by every generator and every worker process on the backend.</param>
    /// <param name="provider">The provider's pause on the gate: the generator's <see cref="IMediaGenerator.Name"/>.</param>
    /// <param name="timeProvider">The clock for delays, timeouts and Retry-After dates.</param>
    /// <param name="logger">The generator's logger.</param>
    /// <param name="classify">Turns an error answer other than 429 into the provider's exception (transient or permanent, with any Retry-After).</param>
    /// <param name="onRetry">Logs a retry the provider's way; null logs it the kit's way.</param>
    public ProviderHttpClient(
        HttpGeneratorOptions options,
        Func<HttpClient> httpClient,
        ProviderRateGate gate,
        string provider,
        TimeProvider timeProvider,
        ILogger logger,
        Func<ProviderFailure, GenerationException> classify,
        Action<ProviderRetry>? onRetry = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(gate);
        ArgumentException.ThrowIfNullOrEmpty(provider);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(classify);
        _options = options;
        _httpClient = httpClient;
        Gate = gate;
        Provider = provider;
        _timeProvider = timeProvider;
        _logger = logger;
        _classify = classify;
        _onRetry = onRetry;

        // Output URLs are the model's choice, not the operator's: they are fetched through the same guard as webhooks
        // (public addresses only unless allow-listed, checked at connect time, no redirects, no proxy), never through
        // the API's client, whose handler may follow redirects or connect anywhere.
        _outputClient = new Lazy<HttpClient>(() => new HttpClient(
            new OutboundConnectGuard(DnsOutboundHostResolver.Instance, () => options.AllowedNonPublicOutputHosts.Append(options.BaseUrl.IdnHost), "output").CreateHandler())
        {
            Timeout = Timeout.InfiniteTimeSpan,
        });
        _retry = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = timeProvider }
            .AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = Math.Max(1, options.MaxRequestRetries),
                BackoffType = DelayBackoffType.Exponential,
                Delay = options.RetryBaseDelay,
                UseJitter = false,
                ShouldRetryAfterHeader = false, // the delay below reads Retry-After on the injected clock, and knows 429s wait on the gate
                ShouldHandle = args => ValueTask.FromResult(ShouldRetry(args.Outcome, args.Context, args.AttemptNumber)),
                DelayGenerator = args => ValueTask.FromResult(RetryDelay(args.Outcome, args.Context)),
                OnRetry = args =>
                {
                    OnRetry(args.Context, args.RetryDelay, args.AttemptNumber + 1);
                    return default;
                },
            })
            .Build();
        _timeout = new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddTimeout(new HttpTimeoutStrategyOptions
            {
                TimeoutGenerator = args => ValueTask.FromResult(args.Context.Properties.GetValue(TimeoutKey, options.RequestTimeout)),
            })
            .Build();
    }

    /// <summary>The gate every call waits on; a 429 pauses <see cref="Provider"/> on it for every job in every process.</summary>
    public ProviderRateGate Gate { get; }

    /// <summary>The name the provider's pause is kept under on <see cref="Gate"/>: the generator's name.</summary>
    public string Provider { get; }

    /// <summary>
    /// Sends a call, retrying as the type describes. Returns a successful answer (or a 404 when
    /// <see cref="ProviderCall.NotFoundIsResult"/>), which the caller disposes; throws the classified
    /// <see cref="GenerationException"/> otherwise.
    /// </summary>
    /// <param name="createRequest">Creates the request for one try; the token is added to it.</param>
    /// <param name="call">What the call is.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The answer.</returns>
    public async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> createRequest, ProviderCall call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(createRequest);
        ArgumentNullException.ThrowIfNull(call);
        var state = new CallState(this, createRequest, call);
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(StateKey, state);
        HttpResponseMessage response;
        try
        {
            var outcome = await _retry.ExecuteOutcomeAsync(static (ctx, s) => s.Client.TryAsync(ctx, s), context, state).ConfigureAwait(false);
            outcome.ThrowIfException();
            response = outcome.Result!;
        }
        catch (TimeoutRejectedException e)
        {
            throw Unanswered(call, e, $"{Name} did not answer the {call.Operation} call for {call.Subject} within {call.Timeout ?? _options.RequestTimeout}.");
        }
        catch (HttpRequestException e)
        {
            throw Unanswered(call, e, $"The {Name} {call.Operation} call for {call.Subject} failed: {e.Message}");
        }
        catch (IOException e)
        {
            throw Unanswered(call, e, $"Reading {Name}'s answer to the {call.Operation} call for {call.Subject} failed: {e.Message}");
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }

        if (state.Failure is { } failure)
        {
            response.Dispose();
            throw call.IsIdempotent || !failure.IsTransient || failure.IsRateLimited
                ? failure
                : new GenerationException(MediaGenErrorCodes.OutcomeUnknown, $"{failure.Message} The provider may have received the call.", isTransient: true, failure)
                {
                    RetryAfter = failure.RetryAfter,
                };
        }

        return response;
    }

    /// <summary>
    /// Whether a network failure proves the request never reached the provider: no connection could be opened (refused,
    /// name not resolved, TLS or proxy failed), so nothing was sent.
    /// </summary>
    /// <param name="exception">The failure.</param>
    /// <returns>Whether nothing was sent.</returns>
    public static bool IsNotSent(Exception exception) =>
        exception is HttpRequestException
        {
            HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError or HttpRequestError.ProxyTunnelError,
        };

    private static GenerationException Unanswered(ProviderCall call, Exception exception, string message) =>
        call.IsIdempotent || IsNotSent(exception)
            ? GenerationException.Transient(message, innerException: exception)
            : new GenerationException(MediaGenErrorCodes.OutcomeUnknown, $"{message} The provider may have received the call.", isTransient: true, exception);

    /// <summary>
    /// Starts downloading a file the provider returned by URL (an output image). The token is sent only to the API's
    /// own host (<see cref="HttpGeneratorOptions.BaseUrl"/>), never to a delivery CDN. Any other URL must name a public
    /// host, or one in <see cref="HttpGeneratorOptions.AllowedNonPublicOutputHosts"/>: every address its name resolves
    /// to is checked when the connection is made, and only those addresses are connected to. Redirects are not
    /// followed and no proxy is used. Not retried here: the caller's attempt is. The caller owns the response and
    /// reads its body as a stream.
    /// </summary>
    /// <param name="url">The file's URL.</param>
    /// <param name="cancellationToken">The cancellation token.</param>
    /// <returns>The successful response, headers read.</returns>
    /// <exception cref="GenerationException">
    /// The download failed: transient for a network error, 408, 429 or 5xx (with any Retry-After); permanent otherwise
    /// (<see cref="MediaGenErrorCodes.ProviderOutputExpired"/> for 404 and 410), among them a URL or address that may
    /// not be fetched and a redirect.
    /// </exception>
    public async Task<HttpResponseMessage> DownloadAsync(Uri url, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(url);
        CheckDownloadUrl(url);
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (IsApiUrl(url))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _options.ApiToken);
        }

        HttpResponseMessage response;
        try
        {
            response = await _outputClient.Value.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e) when (OutboundAddressRefusedException.IsRefusal(e))
        {
            throw RefusedOutput(url, e.InnerException!.Message, e);
        }
        catch (HttpRequestException e)
        {
            throw GenerationException.Transient($"Downloading a {Name} output failed: {e.Message}", innerException: e);
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var status = (int)response.StatusCode;
            if (status is >= 300 and < 400)
            {
                throw RefusedOutput(url, $"It answered {status}, a redirect{(response.Headers.Location is { } to ? $" to '{Describe(to)}'" : string.Empty)}, and output downloads do not follow redirects.");
            }

            var text = await ProviderResponses.ReadErrorTextAsync(response, cancellationToken).ConfigureAwait(false);
            if (ProviderResponses.IsTransient(response.StatusCode))
            {
                throw GenerationException.Transient($"Downloading a {Name} output failed with {status}: {text}", ProviderResponses.GetRetryAfter(response, _timeProvider));
            }

            throw response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone
                ? GenerationException.Permanent($"Downloading a {Name} output failed with {status}: {text}. The provider no longer serves it.", MediaGenErrorCodes.ProviderOutputExpired)
                : GenerationException.Permanent($"Downloading a {Name} output failed with {status}: {text}");
        }
    }

    /// <summary>
    /// Throws when <see cref="DownloadAsync"/> would refuse <paramref name="url"/> without connecting: a URL on the API's
    /// own host passes; any other must be an http or https URL without credentials naming a public host or one in
    /// <see cref="HttpGeneratorOptions.AllowedNonPublicOutputHosts"/>. Call it before handing out an output that is
    /// downloaded later, so a refused URL fails that output at once. A name that resolves to a non-public address is
    /// refused only when the download connects.
    /// </summary>
    /// <param name="url">The output's URL.</param>
    /// <exception cref="GenerationException">The URL may not be fetched (permanent, refunded).</exception>
    public void CheckDownloadUrl(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!IsApiUrl(url) && OutboundAddressPolicy.CheckUrl(url, _options.AllowedNonPublicOutputHosts, "The output URL") is { } refused)
        {
            throw RefusedOutput(url, refused);
        }
    }

    private bool IsApiUrl(Uri url) =>
        url.IsAbsoluteUri && Uri.Compare(url, _options.BaseUrl, UriComponents.SchemeAndServer, UriFormat.UriEscaped, StringComparison.OrdinalIgnoreCase) == 0;

    /// <summary>A permanent failure of one output whose URL may not be fetched; the worker refunds it.</summary>
    private GenerationException RefusedOutput(Uri url, string reason, Exception? innerException = null) =>
        GenerationException.Permanent($"Refused to download a {Name} output from '{Describe(url)}': {reason}", innerException: innerException);

    /// <summary>A URL for a message: scheme, host and path only (no query, which may carry a signature).</summary>
    private static string Describe(Uri url) =>
        url.IsAbsoluteUri ? url.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped) : "(relative URL)";

    private string Name => _options.Profile.DisplayName;

    private async ValueTask<Outcome<HttpResponseMessage>> TryAsync(ResilienceContext context, CallState state)
    {
        state.Failure = null;
        await Gate.WaitAsync(Provider, context.CancellationToken).ConfigureAwait(false);
        if (state.Call.BeforeSendAsync is { } beforeSend)
        {
            await beforeSend(context.CancellationToken).ConfigureAwait(false);
        }

        var inner = ResilienceContextPool.Shared.Get(context.CancellationToken);
        inner.Properties.Set(TimeoutKey, state.Call.Timeout ?? _options.RequestTimeout);
        try
        {
            return Outcome.FromResult(await _timeout.ExecuteAsync(static (ResilienceContext ctx, CallState s) => s.Client.SendOnceAsync(s, ctx.CancellationToken), inner, state).ConfigureAwait(false));
        }
        catch (Exception e) when (e is TimeoutRejectedException or HttpRequestException or IOException)
        {
            return Outcome.FromException<HttpResponseMessage>(e);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(inner);
        }
    }

    private async ValueTask<HttpResponseMessage> SendOnceAsync(CallState state, CancellationToken cancellationToken)
    {
        var call = state.Call;
        using var request = state.CreateRequest();
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _options.ApiToken);
        var completion = call.ReadSuccessAsync is null ? HttpCompletionOption.ResponseContentRead : HttpCompletionOption.ResponseHeadersRead;
        var response = await _httpClient().SendAsync(request, completion, cancellationToken).ConfigureAwait(false);
        try
        {
            if (response.IsSuccessStatusCode || (call.NotFoundIsResult && response.StatusCode == HttpStatusCode.NotFound))
            {
                if (response.IsSuccessStatusCode && call.ReadSuccessAsync is { } read)
                {
                    await read(response, cancellationToken).ConfigureAwait(false);
                }

                return response;
            }

            state.Failure = await ClassifyAsync(response, call, cancellationToken).ConfigureAwait(false);
            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    private async Task<GenerationException> ClassifyAsync(HttpResponseMessage response, ProviderCall call, CancellationToken cancellationToken)
    {
        var body = await ProviderResponses.ReadBodyStartAsync(response, cancellationToken).ConfigureAwait(false);
        var text = ProviderResponses.ExtractErrorText(body);
        if (string.IsNullOrWhiteSpace(text))
        {
            text = response.ReasonPhrase ?? response.StatusCode.ToString();
        }

        text = ProviderResponses.Shorten(text);
        var status = (int)response.StatusCode;
        Log.ProviderErrorText(_logger, Name, call.Operation, status, text);
        var retryAfter = ProviderResponses.GetRetryAfter(response, _timeProvider);
        if (response.StatusCode == HttpStatusCode.TooManyRequests)
        {
            var pause = retryAfter ?? ProviderResponses.GetRateLimitReset(response) ?? _options.DefaultRateLimitPause;

            // Recorded whatever happens to this call: the pause is for every call to the provider, not this one.
            await Gate.PauseAsync(Provider, pause, CancellationToken.None).ConfigureAwait(false);
            Log.RateLimited(_logger, Name, call.Operation, pause);
            return GenerationException.RateLimited($"{Name} rate-limited the {call.Operation} call for {call.Subject} (429): {text}", pause);
        }

        return _classify(new ProviderFailure { Call = call, Status = response.StatusCode, Body = body, Text = text, RetryAfter = retryAfter });
    }

    private bool ShouldRetry(Outcome<HttpResponseMessage> outcome, ResilienceContext context, int attempt)
    {
        if (attempt >= _options.MaxRequestRetries || context.CancellationToken.IsCancellationRequested)
        {
            return false;
        }

        var state = context.Properties.GetValue(StateKey, null!);
        if (outcome.Exception is not null)
        {
            return outcome.Exception is TimeoutRejectedException or HttpRequestException or IOException
                && (state.Call.IsIdempotent || IsNotSent(outcome.Exception))
                && Backoff(attempt) <= _options.MaxRetryWait;
        }

        if (state.Failure is not { IsTransient: true } failure || (!state.Call.IsIdempotent && !failure.IsRateLimited))
        {
            return false;
        }

        var wait = failure.IsRateLimited ? failure.RetryAfter ?? TimeSpan.Zero : failure.RetryAfter ?? Backoff(attempt);
        return wait <= _options.MaxRetryWait;
    }

    private static TimeSpan? RetryDelay(Outcome<HttpResponseMessage> outcome, ResilienceContext context) =>
        outcome.Result is null || context.Properties.GetValue(StateKey, null!).Failure is not { } failure
            ? null
            : failure.IsRateLimited ? TimeSpan.Zero : failure.RetryAfter; // after a 429 the paused gate is the wait

    private TimeSpan Backoff(int attempt) => TimeSpan.FromTicks(_options.RetryBaseDelay.Ticks * (1L << Math.Min(attempt, 16)));

    private void OnRetry(ResilienceContext context, TimeSpan delay, int retry)
    {
        var state = context.Properties.GetValue(StateKey, null!);
        if (state.Failure is { IsRateLimited: true })
        {
            return; // logged when the gate was paused
        }

        if (_onRetry is not null)
        {
            _onRetry(new ProviderRetry(state.Call, state.Failure, delay, retry, _options.MaxRequestRetries));
        }
        else
        {
            Log.RetryingCall(_logger, Name, state.Call.Operation, delay, retry, _options.MaxRequestRetries);
        }
    }

    private sealed class CallState(ProviderHttpClient client, Func<HttpRequestMessage> createRequest, ProviderCall call)
    {
        public ProviderHttpClient Client { get; } = client;

        public Func<HttpRequestMessage> CreateRequest { get; } = createRequest;

        public ProviderCall Call { get; } = call;

        /// <summary>The classified error answer of the latest try, if it was one.</summary>
        public GenerationException? Failure { get; set; }
    }
}
