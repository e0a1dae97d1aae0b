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
/// Sends a webhook when a job that asked for one reaches a terminal status. Notifications are queued in memory and
/// posted in the background with retries (Polly), so a slow receiver never holds a worker slot. Delivery is at least
/// once while the process lives; a process that stops with notifications still queued loses them (logged), because
/// the job's outcome is always readable from the API.
/// </summary>
internal sealed partial class WebhookDispatcher : BackgroundService
{
    public const string HttpClientName = "MediaGen.Webhooks";
    public const string SignatureHeader = "MediaGen-Signature";

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    private readonly Channel<GenerationJob> _pending;
    private readonly IHttpClientFactory _httpClients;
    private readonly WebhookOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;

    public WebhookDispatcher(IHttpClientFactory httpClients, IOptions<WebhookOptions> options, TimeProvider timeProvider, ILogger<WebhookDispatcher> logger)
    {
        _httpClients = httpClients;
        _options = options.Value;
        _time = timeProvider;
        _logger = logger;
        _pending = Channel.CreateBounded<GenerationJob>(new BoundedChannelOptions(_options.QueueCapacity)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        }, dropped => LogDropped(_logger, dropped.Id));
        _pipeline = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = _options.MaxAttempts - 1,
                Delay = _options.RetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = new PredicateBuilder<HttpResponseMessage>()
                    .Handle<HttpRequestException>()
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

    /// <summary>Queues the notification for a job that just reached a terminal status; no-op without a webhook URL.</summary>
    public void Notify(GenerationJob job)
    {
        if (_options.Enabled && job.Request.WebhookUrl is not null && job.Status.IsTerminal())
        {
            _pending.Writer.TryWrite(job);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var job in _pending.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                await SendAsync(job, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            var left = 0;
            while (_pending.Reader.TryRead(out _))
            {
                left++;
            }

            if (left > 0)
            {
                LogUnsentOnShutdown(_logger, left);
            }
        }
    }

    internal async Task<bool> SendAsync(GenerationJob job, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(WebhookPayload.From(job, _time.GetUtcNow()), JsonOptions);
        var client = _httpClients.CreateClient(HttpClientName);
        try
        {
            using var response = await _pipeline.ExecuteAsync(
                async (state, ct) =>
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, state.Job.Request.WebhookUrl) { Content = new ByteArrayContent(state.Body) };
                    request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                    request.Headers.TryAddWithoutValidation("MediaGen-Event", "job." + state.Job.Status.ToString().ToLowerInvariant());
                    request.Headers.TryAddWithoutValidation("MediaGen-Delivery", state.Job.Id + ":" + state.Job.Status.ToString().ToLowerInvariant());
                    if (state.Self._options.SigningSecret is { Length: > 0 } secret)
                    {
                        request.Headers.TryAddWithoutValidation(SignatureHeader, Sign(secret, state.Self._time.GetUtcNow().ToUnixTimeSeconds(), state.Body));
                    }

                    return await state.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
                },
                (Self: this, Job: job, Body: body, Client: client),
                cancellationToken).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                LogDelivered(_logger, job.Id, (int)response.StatusCode);
                return true;
            }

            LogRejected(_logger, job.Id, (int)response.StatusCode);
            return false;
        }
        catch (Exception e) when (e is HttpRequestException or Polly.Timeout.TimeoutRejectedException)
        {
            LogFailed(_logger, job.Id, e);
            return false;
        }
    }

    /// <summary>The header value: <c>t={unix seconds},v1={hex HMAC-SHA256 of "{t}.{body}"}</c>.</summary>
    internal static string Sign(string secret, long unixSeconds, byte[] body)
    {
        var prefix = Encoding.UTF8.GetBytes(unixSeconds.ToString(CultureInfo.InvariantCulture) + ".");
        var signed = new byte[prefix.Length + body.Length];
        prefix.CopyTo(signed, 0);
        body.CopyTo(signed, prefix.Length);
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), signed);
        return string.Create(CultureInfo.InvariantCulture, $"t={unixSeconds},v1={Convert.ToHexString(mac).ToLowerInvariant()}");
    }

    [LoggerMessage(40, LogLevel.Debug, "Webhook for job {JobId} delivered ({StatusCode}).")]
    private static partial void LogDelivered(ILogger logger, string jobId, int statusCode);

    [LoggerMessage(41, LogLevel.Warning, "Webhook for job {JobId} was refused with {StatusCode}; not retried.")]
    private static partial void LogRejected(ILogger logger, string jobId, int statusCode);

    [LoggerMessage(42, LogLevel.Warning, "Webhook for job {JobId} could not be delivered.")]
    private static partial void LogFailed(ILogger logger, string jobId, Exception exception);

    [LoggerMessage(43, LogLevel.Warning, "Webhook queue full; the notification for job {JobId} was dropped.")]
    private static partial void LogDropped(ILogger logger, string jobId);

    [LoggerMessage(44, LogLevel.Warning, "{Count} webhook notification(s) were not sent before shutdown.")]
    private static partial void LogUnsentOnShutdown(ILogger logger, int count);

    internal sealed record WebhookPayload(string Id, string Type, DateTimeOffset Timestamp, WebhookJob Job)
    {
        public static WebhookPayload From(GenerationJob job, DateTimeOffset now) => new(
            job.Id + ":" + job.Status.ToString().ToLowerInvariant(),
            "job." + job.Status.ToString().ToLowerInvariant(),
            now,
            new WebhookJob(job.Id, job.Status, job.Request.Model, job.CreatedAt, job.CompletedAt, job.Attempt, job.Outputs, job.FailedOutputs, job.Error, job.CreditsCharged, job.CreditsRefunded));
    }

    internal sealed record WebhookJob(
        string Id,
        JobStatus Status,
        string Model,
        DateTimeOffset CreatedAt,
        DateTimeOffset? CompletedAt,
        int Attempt,
        IReadOnlyList<JobOutput> Outputs,
        IReadOnlyList<OutputFailure> FailedOutputs,
        JobError? Error,
        long CreditsCharged,
        long CreditsRefunded);
}
