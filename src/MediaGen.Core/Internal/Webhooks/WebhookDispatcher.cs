using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace MediaGen.Internal;

/// <summary>
/// Sends a job's webhooks in the Standard Webhooks format for the events its <see cref="GenerationRequest.WebhookEvents"/>
/// names. <see cref="Notify"/> only queues (a worker never waits for a receiver); deliveries run in the background, up to
/// <see cref="WebhookOptions.MaxConcurrentDeliveries"/> at once, each retried with exponential backoff and jitter on its
/// own, so a failing receiver delays no one else. Delivery is at least once while the process lives: queued and retrying
/// deliveries are held in memory and a process that stops with some left loses them (logged); the job's state is always
/// readable from the API.
/// </summary>
internal sealed partial class WebhookDispatcher : BackgroundService
{
    public const string HttpClientName = "MediaGen.Webhooks";
    public const string IdHeader = "webhook-id";
    public const string TimestampHeader = "webhook-timestamp";
    public const string SignatureHeader = "webhook-signature";

    private const string SecretPrefix = "whsec_";

    private readonly Channel<WebhookDelivery> _pending;
    private readonly IHttpClientFactory _httpClients;
    private readonly IMediaStorage _storage;
    private readonly WebhookOptions _options;
    private readonly byte[]? _signingKey;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;

    public WebhookDispatcher(IHttpClientFactory httpClients, IMediaStorage storage, IOptions<WebhookOptions> options, TimeProvider timeProvider, ILogger<WebhookDispatcher> logger)
    {
        _httpClients = httpClients;
        _storage = storage;
        _options = options.Value;
        _signingKey = _options.SigningSecret is { Length: > 0 } secret ? ParseSecret(secret) : null;
        _time = timeProvider;
        _logger = logger;
        _pending = Channel.CreateBounded<WebhookDelivery>(new BoundedChannelOptions(_options.QueueCapacity)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        }, dropped => LogDropped(_logger, dropped.JobId, dropped.Id));
        _pipeline = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = _options.MaxAttempts - 1,
                Delay = _options.RetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = new PredicateBuilder<HttpResponseMessage>()
                    .Handle<HttpRequestException>(e => !IsRefused(e))
                    .Handle<Polly.Timeout.TimeoutRejectedException>()
                    .HandleResult(r => (int)r.StatusCode >= 500 || r.StatusCode == System.Net.HttpStatusCode.TooManyRequests || r.StatusCode == System.Net.HttpStatusCode.RequestTimeout),
                OnRetry = args =>
                {
                    args.Outcome.Result?.Dispose();
                    return default;
                },
            })
            .AddTimeout(_options.AttemptTimeout)
            .Build();
    }

    /// <summary>
    /// Queues the webhook for <paramref name="kind"/> (a start, a stored <paramref name="output"/>, or the terminal
    /// status) when the job has a webhook URL and its filter names that kind; otherwise does nothing.
    /// </summary>
    public void Notify(GenerationJob job, WebhookEventFilter kind, JobOutput? output = null)
    {
        if (!_options.Enabled || job.Request.WebhookUrl is not { } url || (job.Request.WebhookEvents & kind) == 0)
        {
            return;
        }

        var (type, id) = kind switch
        {
            WebhookEventFilter.Start => ("job.started", string.Create(CultureInfo.InvariantCulture, $"{job.Id}.{job.Run}.started.{job.Attempt}")),
            WebhookEventFilter.Output => ("job.output", string.Create(CultureInfo.InvariantCulture, $"{job.Id}.{job.Run}.output.{output?.Index}")),
            _ => ("job." + job.Status.ToString().ToLowerInvariant(), string.Create(CultureInfo.InvariantCulture, $"{job.Id}.{job.Run}.{job.Status.ToString().ToLowerInvariant()}")),
        };
        _pending.Writer.TryWrite(new WebhookDelivery(id, job.Id, type, url, job, output, _time.GetUtcNow()));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var slots = new SemaphoreSlim(_options.MaxConcurrentDeliveries);
        try
        {
            await foreach (var delivery in _pending.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                await slots.WaitAsync(stoppingToken).ConfigureAwait(false);
                _ = RunAsync(delivery, slots, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            var left = _options.MaxConcurrentDeliveries - slots.CurrentCount;
            while (_pending.Reader.TryRead(out _))
            {
                left++;
            }

            // Wait for the running deliveries to see the cancellation and give their slots back.
            for (var i = 0; i < _options.MaxConcurrentDeliveries; i++)
            {
                await slots.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            }

            if (left > 0)
            {
                LogUnsentOnShutdown(_logger, left);
            }
        }
    }

    private async Task RunAsync(WebhookDelivery delivery, SemaphoreSlim slots, CancellationToken cancellationToken)
    {
        await Task.Yield();
        try
        {
            await SendAsync(delivery, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutdown: counted as unsent by ExecuteAsync.
        }
        finally
        {
            slots.Release();
        }
    }

    /// <summary>
    /// The delivery's body, with fresh read URLs for its outputs (signed ones expire), resolved against
    /// <see cref="WebhookOptions.PublicBaseUrl"/> when relative.
    /// </summary>
    internal async Task<byte[]> BuildBodyAsync(WebhookDelivery delivery, CancellationToken cancellationToken)
    {
        var job = delivery.Job;
        var outputs = new JobOutput[job.Outputs.Count];
        for (var i = 0; i < outputs.Length; i++)
        {
            outputs[i] = await WithReadUrlAsync(job.Outputs[i], cancellationToken).ConfigureAwait(false);
        }

        var output = delivery.Output is { } one ? await WithReadUrlAsync(one, cancellationToken).ConfigureAwait(false) : null;
        return JsonSerializer.SerializeToUtf8Bytes(WebhookPayload.From(delivery.Type, job with { Outputs = outputs }, output, delivery.At), WebhookJsonContext.Default.WebhookPayload);
    }

    private async Task<JobOutput> WithReadUrlAsync(JobOutput output, CancellationToken cancellationToken)
    {
        var url = await _storage.GetReadUrlAsync(output.Key, cancellationToken: cancellationToken).ConfigureAwait(false);
        return output with { Url = PublicMediaUrl.Resolve(_options.PublicBaseUrl, url) };
    }

    /// <summary>Sends one delivery with its retries; true when the receiver answered 2xx.</summary>
    internal async Task<bool> SendAsync(WebhookDelivery delivery, CancellationToken cancellationToken)
    {
        var body = await BuildBodyAsync(delivery, cancellationToken).ConfigureAwait(false);
        var client = _httpClients.CreateClient(HttpClientName);
        try
        {
            using var response = await _pipeline.ExecuteAsync(
                static async (state, ct) =>
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, state.Delivery.Url) { Content = new ByteArrayContent(state.Body) };
                    request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                    var timestamp = state.Self._time.GetUtcNow().ToUnixTimeSeconds();
                    request.Headers.TryAddWithoutValidation(IdHeader, state.Delivery.Id);
                    request.Headers.TryAddWithoutValidation(TimestampHeader, timestamp.ToString(CultureInfo.InvariantCulture));
                    if (state.Self._signingKey is { } key)
                    {
                        request.Headers.TryAddWithoutValidation(SignatureHeader, Sign(key, state.Delivery.Id, timestamp, state.Body));
                    }

                    return await state.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
                },
                (Self: this, Delivery: delivery, Body: body, Client: client),
                cancellationToken).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                LogDelivered(_logger, delivery.JobId, delivery.Type, (int)response.StatusCode);
                return true;
            }

            LogRejected(_logger, delivery.JobId, delivery.Type, (int)response.StatusCode);
            return false;
        }
        catch (HttpRequestException e) when (IsRefused(e))
        {
            LogRefused(_logger, delivery.JobId, delivery.Type, e.InnerException!.Message);
            return false;
        }
        catch (Exception e) when (e is HttpRequestException or Polly.Timeout.TimeoutRejectedException)
        {
            LogFailed(_logger, delivery.JobId, delivery.Type, e);
            return false;
        }
    }

    /// <summary>The Standard Webhooks signature: <c>v1,{base64 HMAC-SHA256 of "{id}.{timestamp}.{body}"}</c>.</summary>
    internal static string Sign(byte[] key, string id, long unixSeconds, byte[] body)
    {
        var prefix = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{id}.{unixSeconds}."));
        var signed = new byte[prefix.Length + body.Length];
        prefix.CopyTo(signed, 0);
        body.CopyTo(signed, prefix.Length);
        return "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, signed));
    }

    /// <summary>The key of a <c>whsec_</c> secret (validated by <see cref="WebhookOptions.SigningSecret"/>'s pattern).</summary>
    internal static byte[] ParseSecret(string secret) =>
        Convert.FromBase64String(secret.StartsWith(SecretPrefix, StringComparison.Ordinal) ? secret[SecretPrefix.Length..] : secret);

    private static bool IsRefused(HttpRequestException e) => e.InnerException is WebhookAddressRefusedException;

    [LoggerMessage(40, LogLevel.Debug, "Webhook {Type} for job {JobId} delivered ({StatusCode}).")]
    private static partial void LogDelivered(ILogger logger, string jobId, string type, int statusCode);

    [LoggerMessage(41, LogLevel.Warning, "Webhook {Type} for job {JobId} was refused with {StatusCode}; not retried.")]
    private static partial void LogRejected(ILogger logger, string jobId, string type, int statusCode);

    [LoggerMessage(42, LogLevel.Warning, "Webhook {Type} for job {JobId} could not be delivered.")]
    private static partial void LogFailed(ILogger logger, string jobId, string type, Exception exception);

    [LoggerMessage(43, LogLevel.Warning, "Webhook queue full; delivery {DeliveryId} for job {JobId} was dropped.")]
    private static partial void LogDropped(ILogger logger, string jobId, string deliveryId);

    [LoggerMessage(44, LogLevel.Warning, "{Count} webhook deliveries were not sent before shutdown.")]
    private static partial void LogUnsentOnShutdown(ILogger logger, int count);

    [LoggerMessage(45, LogLevel.Warning, "Webhook {Type} for job {JobId} was not sent: {Reason}")]
    private static partial void LogRefused(ILogger logger, string jobId, string type, string reason);

    /// <summary>One message to send: its Standard Webhooks id (the same on every retry), type, target, and the job as it was at <paramref name="At"/>.</summary>
    internal sealed record WebhookDelivery(string Id, string JobId, string Type, Uri Url, GenerationJob Job, JobOutput? Output, DateTimeOffset At);

    /// <summary>The body, in the Standard Webhooks shape: <c>type</c>, <c>timestamp</c>, <c>data</c>.</summary>
    internal sealed record WebhookPayload(string Type, DateTimeOffset Timestamp, WebhookJob Data)
    {
        public static WebhookPayload From(string type, GenerationJob job, JobOutput? output, DateTimeOffset now) => new(
            type,
            now,
            new WebhookJob(job.Id, job.Status, job.Request.Model, job.Run, job.Attempt, job.CreatedAt, job.CompletedAt, output, job.Outputs, job.FailedOutputs, job.Error, job.CreditsCharged, job.CreditsRefunded));
    }

    /// <summary>The job as a webhook reports it; <see cref="Output"/> is the output a <c>job.output</c> event announces.</summary>
    internal sealed record WebhookJob(
        string Id,
        JobStatus Status,
        string Model,
        int Run,
        int Attempt,
        DateTimeOffset CreatedAt,
        DateTimeOffset? CompletedAt,
        JobOutput? Output,
        IReadOnlyList<JobOutput> Outputs,
        IReadOnlyList<OutputFailure> FailedOutputs,
        JobError? Error,
        long CreditsCharged,
        long CreditsRefunded);
}
