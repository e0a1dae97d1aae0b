using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using MediaGen.Shared;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;

namespace MediaGen.Internal;

/// <summary>
/// Sends a job's webhooks in the Standard Webhooks format for the events its <see cref="GenerationRequest.WebhookEvents"/>
/// names. <see cref="NotifyAsync"/> only writes the delivery to the <see cref="IWebhookOutbox"/> (a worker never waits for
/// a receiver); a background loop leases the due deliveries (woken at once by a local add, otherwise every
/// <see cref="WebhookOptions.PollInterval"/>), sends up to <see cref="WebhookOptions.MaxConcurrentDeliveries"/> at once,
/// and completes each or schedules its next try with <see cref="Backoff"/> (exponential with jitter, honouring
/// Retry-After), so a failing receiver delays no one else. Deliveries live in the outbox, not in this process: where the
/// outbox is a shared backend (Redis, PostgreSQL) they survive a restart and any process sends them.
/// </summary>
internal sealed partial class WebhookDispatcher : BackgroundService
{
    public const string HttpClientName = "MediaGen.Webhooks";
    public const string IdHeader = "webhook-id";
    public const string TimestampHeader = "webhook-timestamp";
    public const string SignatureHeader = "webhook-signature";

    private const string SecretPrefix = "whsec_";

    private readonly IHttpClientFactory _httpClients;
    private readonly IMediaStorage _storage;
    private readonly IWebhookOutbox _outbox;
    private readonly WebhookOptions _options;
    private readonly byte[]? _signingKey;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _timeout;
    private readonly Backoff _backoff;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Lock _gate = new();
    private DateTimeOffset? _nextLocalDue;

    public WebhookDispatcher(IHttpClientFactory httpClients, IMediaStorage storage, IWebhookOutbox outbox, IOptions<WebhookOptions> options, TimeProvider timeProvider, ILogger<WebhookDispatcher> logger)
    {
        _httpClients = httpClients;
        _storage = storage;
        _outbox = outbox;
        _options = options.Value;
        _signingKey = _options.SigningSecret is { Length: > 0 } secret ? ParseSecret(secret) : null;
        _time = timeProvider;
        _logger = logger;
        _backoff = new Backoff(_options.RetryDelay, _options.MaxRetryDelay, DelayBackoffType.Exponential, UseJitter: true);
        _timeout = new ResiliencePipelineBuilder { TimeProvider = timeProvider }.AddTimeout(_options.AttemptTimeout).Build();
    }

    /// <summary>
    /// How long a dispatcher holds a delivery it sends: the attempt's time limit plus a margin for building the body and
    /// settling. A dispatcher that dies mid-send leaves the delivery to another once this passes.
    /// </summary>
    public TimeSpan LeaseDuration => _options.AttemptTimeout + TimeSpan.FromSeconds(30);

    /// <summary>
    /// The delivery for <paramref name="kind"/> (a start, a stored <paramref name="output"/>, or the terminal status), or
    /// null when webhooks are off, the job has no webhook URL or its filter leaves that kind out. Its id is stable per job
    /// event, so writing it again (a step applied twice) adds nothing.
    /// </summary>
    public WebhookDelivery? CreateDelivery(GenerationJob job, WebhookEventFilter kind, JobOutput? output = null)
    {
        if (!_options.Enabled || job.Request.WebhookUrl is not { } url || (job.Request.WebhookEvents & kind) == 0)
        {
            return null;
        }

        var (type, id) = kind switch
        {
            WebhookEventFilter.Start => ("job.started", string.Create(CultureInfo.InvariantCulture, $"{job.Id}.{job.Run}.started.{job.Attempt}")),
            WebhookEventFilter.Output => ("job.output", string.Create(CultureInfo.InvariantCulture, $"{job.Id}.{job.Run}.output.{output?.Index}")),
            _ => ("job." + job.Status.ToString().ToLowerInvariant(), string.Create(CultureInfo.InvariantCulture, $"{job.Id}.{job.Run}.{job.Status.ToString().ToLowerInvariant()}")),
        };

        // The job as it was at the event (as Replicate sends it), so a start reads as a start even when it is sent after
        // the job finished; only output URLs are signed afresh at send time (BuildBodyAsync), because signed URLs expire.
        var envelope = new WebhookEnvelope(url, WebhookPayload.From(type, job, output, _time.GetUtcNow()));
        return new WebhookDelivery { Id = id, JobId = job.Id, Payload = JsonSerializer.Serialize(envelope, WebhookJsonContext.Default.WebhookEnvelope) };
    }

    /// <summary>
    /// Writes the webhook for <paramref name="kind"/> to the outbox when the job asks for it (see
    /// <see cref="CreateDelivery"/>). Never throws: a delivery the outbox cannot take is logged as lost.
    /// </summary>
    public ValueTask NotifyAsync(GenerationJob job, WebhookEventFilter kind, JobOutput? output = null) =>
        CreateDelivery(job, kind, output) is { } delivery ? AddAsync(delivery) : ValueTask.CompletedTask;

    /// <summary>Writes <paramref name="delivery"/> to the outbox and wakes the loop. Never throws: a failure is logged as a lost delivery.</summary>
    public async ValueTask AddAsync(WebhookDelivery delivery)
    {
        try
        {
            if (await _outbox.AddAsync(delivery, CancellationToken.None).ConfigureAwait(false))
            {
                Wake();
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogNotStored(_logger, delivery.JobId, delivery.Id, e);
        }
    }

    /// <summary>Wakes the loop to lease now: a delivery was added in this process (a step that wrote one atomically calls it too).</summary>
    public void Wake() => _wake.Writer.TryWrite(true);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var slots = new SemaphoreSlim(_options.MaxConcurrentDeliveries);
        var failures = 0;
        try
        {
            while (true)
            {
                stoppingToken.ThrowIfCancellationRequested();
                var free = slots.CurrentCount;
                IReadOnlyList<WebhookDeliveryLease> leases = [];
                if (free > 0)
                {
                    try
                    {
                        leases = await _outbox.LeaseAsync(free, LeaseDuration, stoppingToken).ConfigureAwait(false);
                        failures = 0;
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        var delay = _backoff.DelayFor(++failures);
                        LogLeaseFailed(_logger, delay, e);
                        await Task.Delay(delay, _time, stoppingToken).ConfigureAwait(false);
                        continue;
                    }
                }

                foreach (var lease in leases)
                {
                    // Never fails: only this loop takes slots, and it leased no more than were free.
                    await slots.WaitAsync(CancellationToken.None).ConfigureAwait(false);
                    _ = RunAsync(lease, slots);
                }

                if (free > 0 && leases.Count == free)
                {
                    continue; // more may be due
                }

                await WaitForWorkAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Let the deliveries in flight finish (each within AttemptTimeout) and settle, so an answer already given is
            // recorded rather than sent again by the next process.
            for (var i = 0; i < _options.MaxConcurrentDeliveries; i++)
            {
                await slots.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Waits for a local add, a finished send, a local retry falling due, or the poll interval.</summary>
    private async Task WaitForWorkAsync(CancellationToken stoppingToken)
    {
        var delay = _options.PollInterval;
        lock (_gate)
        {
            if (_nextLocalDue is { } due)
            {
                var until = due - _time.GetUtcNow();
                if (until <= TimeSpan.Zero)
                {
                    _nextLocalDue = null;
                    return;
                }

                delay = until < delay ? until : delay;
            }
        }

        using var timer = new CancellationTokenSource(delay, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, timer.Token);
        try
        {
            await _wake.Reader.ReadAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            // The poll interval passed.
        }
    }

    private async Task RunAsync(WebhookDeliveryLease lease, SemaphoreSlim slots)
    {
        await Task.Yield();
        try
        {
            await DeliverAsync(lease, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // The outbox failed while settling: the lease expires and the delivery is tried again.
            LogSettleFailed(_logger, lease.Delivery.JobId, lease.Delivery.Id, e);
        }
        finally
        {
            slots.Release();
            Wake();
        }
    }

    /// <summary>Makes one try of a leased delivery and settles the lease: complete, retry later with backoff, or give up.</summary>
    internal async Task DeliverAsync(WebhookDeliveryLease lease, CancellationToken cancellationToken)
    {
        var delivery = lease.Delivery;
        if (Read(delivery.Payload) is not { } envelope)
        {
            LogUnreadable(_logger, delivery.JobId, delivery.Id);
            await SettleAsync(lease, _outbox.GiveUpAsync(lease, "The delivery's payload could not be read.", _options.GivenUpRetention, CancellationToken.None)).ConfigureAwait(false);
            return;
        }

        var type = envelope.Payload.Type;
        if (lease.Attempt > _options.MaxAttempts)
        {
            // Earlier leases expired without an answer (their dispatchers stopped): the attempts are spent all the same.
            LogGaveUp(_logger, delivery.JobId, type, lease.Attempt - 1, lease.LastError ?? "no answer");
            await SettleAsync(lease, _outbox.GiveUpAsync(lease, lease.LastError ?? "Attempts exhausted.", _options.GivenUpRetention, CancellationToken.None)).ConfigureAwait(false);
            return;
        }

        var result = await SendAsync(delivery.Id, envelope, cancellationToken).ConfigureAwait(false);
        switch (result.Outcome)
        {
            case SendOutcome.Delivered:
                await SettleAsync(lease, _outbox.CompleteAsync(lease, CancellationToken.None)).ConfigureAwait(false);
                break;
            case SendOutcome.Retry when lease.Attempt < _options.MaxAttempts:
                var due = _time.GetUtcNow() + _backoff.DelayFor(lease.Attempt, result.RetryAfter);
                if (await SettleAsync(lease, _outbox.RetryAsync(lease, due, result.Error!, CancellationToken.None)).ConfigureAwait(false))
                {
                    ScheduleLocal(due);
                }

                break;
            default:
                if (result.Outcome == SendOutcome.Retry)
                {
                    LogGaveUp(_logger, delivery.JobId, type, lease.Attempt, result.Error!);
                }

                await SettleAsync(lease, _outbox.GiveUpAsync(lease, result.Error!, _options.GivenUpRetention, CancellationToken.None)).ConfigureAwait(false);
                break;
        }
    }

    private async ValueTask<bool> SettleAsync(WebhookDeliveryLease lease, ValueTask<bool> settle)
    {
        if (await settle.ConfigureAwait(false))
        {
            return true;
        }

        // The lease expired (a send slower than the lease): the delivery may already be with another dispatcher.
        LogLeaseLost(_logger, lease.Delivery.JobId, lease.Delivery.Id);
        return false;
    }

    private void ScheduleLocal(DateTimeOffset due)
    {
        lock (_gate)
        {
            if (_nextLocalDue is not { } next || due < next)
            {
                _nextLocalDue = due;
            }
        }

        Wake();
    }

    /// <summary>
    /// The delivery's body, with fresh read URLs for its outputs (signed ones expire), resolved against
    /// <see cref="WebhookOptions.PublicBaseUrl"/> when relative.
    /// </summary>
    internal async Task<byte[]> BuildBodyAsync(WebhookPayload payload, CancellationToken cancellationToken)
    {
        var job = payload.Data;
        var outputs = new JobOutput[job.Outputs.Count];
        for (var i = 0; i < outputs.Length; i++)
        {
            outputs[i] = await WithReadUrlAsync(job.Outputs[i], cancellationToken).ConfigureAwait(false);
        }

        var output = job.Output is { } one ? await WithReadUrlAsync(one, cancellationToken).ConfigureAwait(false) : null;
        return JsonSerializer.SerializeToUtf8Bytes(payload with { Data = job with { Outputs = outputs, Output = output } }, WebhookJsonContext.Default.WebhookPayload);
    }

    private async Task<JobOutput> WithReadUrlAsync(JobOutput output, CancellationToken cancellationToken)
    {
        var url = await _storage.GetReadUrlAsync(output.Key, cancellationToken: cancellationToken).ConfigureAwait(false);
        return output with { Url = PublicMediaUrl.Resolve(_options.PublicBaseUrl, url) };
    }

    /// <summary>
    /// Makes one HTTP attempt: delivered on a 2xx; tried again later on a 5xx, 408, 429, timeout or network error; final on
    /// any other answer (a 3xx is not followed) or an address the SSRF guard refuses.
    /// </summary>
    internal async Task<SendResult> SendAsync(string id, WebhookEnvelope envelope, CancellationToken cancellationToken)
    {
        var type = envelope.Payload.Type;
        var jobId = envelope.Payload.Data.Id;
        byte[] body;
        try
        {
            body = await BuildBodyAsync(envelope.Payload, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Storage could not sign the output URLs right now: nothing was sent, so try again later.
            LogFailed(_logger, jobId, type, e);
            return new SendResult(SendOutcome.Retry, "The output URLs could not be signed: " + e.Message, null);
        }

        var client = _httpClients.CreateClient(HttpClientName);
        try
        {
            using var response = await _timeout.ExecuteAsync(
                static async (state, ct) =>
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, state.Url) { Content = new ByteArrayContent(state.Body) };
                    request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                    var timestamp = state.Self._time.GetUtcNow().ToUnixTimeSeconds();
                    request.Headers.TryAddWithoutValidation(IdHeader, state.Id);
                    request.Headers.TryAddWithoutValidation(TimestampHeader, timestamp.ToString(CultureInfo.InvariantCulture));
                    if (state.Self._signingKey is { } key)
                    {
                        request.Headers.TryAddWithoutValidation(SignatureHeader, Sign(key, state.Id, timestamp, state.Body));
                    }

                    return await state.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
                },
                (Self: this, Id: id, Url: envelope.Url, Body: body, Client: client),
                cancellationToken).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            if (response.IsSuccessStatusCode)
            {
                LogDelivered(_logger, jobId, type, status);
                return new SendResult(SendOutcome.Delivered, null, null);
            }

            var error = string.Create(CultureInfo.InvariantCulture, $"The receiver answered {status} {response.ReasonPhrase}.");
            if (status >= 500 || response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout)
            {
                LogRetrying(_logger, jobId, type, error);
                return new SendResult(SendOutcome.Retry, error, RetryAfter(response));
            }

            LogRejected(_logger, jobId, type, status);
            return new SendResult(SendOutcome.Final, error, null);
        }
        catch (HttpRequestException e) when (IsRefused(e))
        {
            LogRefused(_logger, jobId, type, e.InnerException!.Message);
            return new SendResult(SendOutcome.Final, e.InnerException!.Message, null);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Any other fault of the send (a connection error, the attempt timeout, the handler canceling) is a try that
            // failed: it is recorded and the delivery backs off, rather than staying leased until the lease lapses.
            LogFailed(_logger, jobId, type, e);
            return new SendResult(SendOutcome.Retry, e.Message, null);
        }
    }

    /// <summary>The longest Retry-After a receiver is granted: past it, the delivery tries again then anyway.</summary>
    internal static readonly TimeSpan MaxRetryAfter = TimeSpan.FromDays(1);

    // A receiver's Retry-After wins over the backoff, up to a day: an unbounded one (years) would park the delivery for
    // good, neither sent nor given up, holding a place in the outbox.
    private TimeSpan? RetryAfter(HttpResponseMessage response) => response.Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta < MaxRetryAfter ? delta : MaxRetryAfter,
        { Date: { } date } when date - _time.GetUtcNow() is var wait => wait < MaxRetryAfter ? wait : MaxRetryAfter,
        _ => null,
    };

    /// <summary>Reads a delivery's payload; null when it is not one this version can send.</summary>
    internal static WebhookEnvelope? Read(string payload)
    {
        try
        {
            return JsonSerializer.Deserialize(payload, WebhookJsonContext.Default.WebhookEnvelope) is { Url: not null, Payload.Data: not null } envelope ? envelope : null;
        }
        catch (JsonException)
        {
            return null;
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

    private static bool IsRefused(HttpRequestException e) => OutboundAddressRefusedException.IsRefusal(e);

    [LoggerMessage(40, LogLevel.Debug, "Webhook {Type} for job {JobId} delivered ({StatusCode}).")]
    private static partial void LogDelivered(ILogger logger, string jobId, string type, int statusCode);

    [LoggerMessage(41, LogLevel.Warning, "Webhook {Type} for job {JobId} was refused with {StatusCode}; not retried.")]
    private static partial void LogRejected(ILogger logger, string jobId, string type, int statusCode);

    [LoggerMessage(42, LogLevel.Warning, "Webhook {Type} for job {JobId} could not be delivered; it is tried again later.")]
    private static partial void LogFailed(ILogger logger, string jobId, string type, Exception exception);

    [LoggerMessage(43, LogLevel.Error, "Webhook delivery {DeliveryId} for job {JobId} could not be written to the outbox and is lost.")]
    private static partial void LogNotStored(ILogger logger, string jobId, string deliveryId, Exception exception);

    [LoggerMessage(44, LogLevel.Warning, "Leasing webhook deliveries failed; trying again in {Delay}.")]
    private static partial void LogLeaseFailed(ILogger logger, TimeSpan delay, Exception exception);

    [LoggerMessage(45, LogLevel.Warning, "Webhook {Type} for job {JobId} was not sent: {Reason}")]
    private static partial void LogRefused(ILogger logger, string jobId, string type, string reason);

    [LoggerMessage(51, LogLevel.Information, "Webhook {Type} for job {JobId} failed ({Error}); it is tried again later.")]
    private static partial void LogRetrying(ILogger logger, string jobId, string type, string error);

    [LoggerMessage(52, LogLevel.Warning, "Webhook {Type} for job {JobId} was given up after {Attempts} attempt(s): {Error}")]
    private static partial void LogGaveUp(ILogger logger, string jobId, string type, int attempts, string error);

    [LoggerMessage(53, LogLevel.Warning, "Webhook delivery {DeliveryId} for job {JobId} could not be settled; its lease expires and it is tried again.")]
    private static partial void LogSettleFailed(ILogger logger, string jobId, string deliveryId, Exception exception);

    [LoggerMessage(54, LogLevel.Warning, "The lease on webhook delivery {DeliveryId} for job {JobId} expired before it was settled; it may be sent again.")]
    private static partial void LogLeaseLost(ILogger logger, string jobId, string deliveryId);

    [LoggerMessage(55, LogLevel.Error, "Webhook delivery {DeliveryId} for job {JobId} has a payload this version cannot read; it was given up.")]
    private static partial void LogUnreadable(ILogger logger, string jobId, string deliveryId);

    /// <summary>How one try ended.</summary>
    internal enum SendOutcome
    {
        Delivered,
        Retry,
        Final,
    }

    /// <summary>One try's outcome, why it failed, and the wait the receiver asked for.</summary>
    internal readonly record struct SendResult(SendOutcome Outcome, string? Error, TimeSpan? RetryAfter);

    /// <summary>What the outbox keeps for a delivery: where it goes and the body as of the event (output URLs are signed when sent).</summary>
    internal sealed record WebhookEnvelope(Uri Url, WebhookPayload Payload);

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
