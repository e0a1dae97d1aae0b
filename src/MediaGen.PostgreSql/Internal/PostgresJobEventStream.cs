using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MediaGen.Shared;

namespace MediaGen.PostgreSql.Internal;

/// <summary>
/// Job events over <c>LISTEN</c>/<c>NOTIFY</c>, one channel per job (<see cref="PostgresChannels.Events"/>), so a subscriber
/// in any process sees what a worker in any other process publishes, in commit order. Each event is numbered on its job's
/// row (<c>event_sequence</c>; a job id without a row here on a counter row) and kept in the <c>job_events</c> history
/// table, in the same transaction as the step that publishes it (<c>event_publish</c> for an event outside a step); the
/// history keeps a job's latest <see cref="MediaGenerationOptions.EventHistoryLength"/> events, until
/// <see cref="MediaGenerationOptions.EventHistoryRetention"/> after its latest one or until the job is deleted. A
/// notification is <c>{sequence} {JSON}</c> and carries at most 8000 bytes: an event longer than that is sent (and kept)
/// with its message texts shortened (the job keeps the full error).
/// </summary>
internal sealed class PostgresJobEventStream : IJobEventStream
{
    /// <summary>The longest payload sent, a little under PostgreSQL's limit of 8000 bytes.</summary>
    internal const int MaxPayloadBytes = 7900;

    private const int ShortenedTextLength = 500;

    private readonly PostgresDatabase _database;
    private readonly ILogger _logger;

    public PostgresJobEventStream(PostgresDatabase database, ILogger<PostgresJobEventStream> logger, IOptions<MediaGenerationOptions>? generationOptions = null)
    {
        _database = database;
        _logger = logger;
        var generation = generationOptions?.Value ?? new MediaGenerationOptions();
        HistoryLength = generation.EventHistoryLength;
        HistoryRetentionMs = (long)Math.Ceiling(generation.EventHistoryRetention.TotalMilliseconds);
    }

    internal PostgresDatabase Database => _database;

    /// <summary>How many events a job's history keeps.</summary>
    internal int HistoryLength { get; }

    /// <summary>How long a job's history lives after its latest event, in ms.</summary>
    internal long HistoryRetentionMs { get; }

    public async ValueTask PublishAsync(JobEvent jobEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobEvent);
        if (Payload(jobEvent, _logger) is not { } payload)
        {
            return;
        }

        var command = (await _database.CommandAsync($"SELECT {_database.QuotedSchema}.event_publish($1, $2, $3, $4, $5, $6)", cancellationToken).ConfigureAwait(false))
            .Text(_database.EventChannel(jobEvent.JobId)).Text(jobEvent.JobId).Text(payload)
            .Integer(HistoryLength).Bigint(HistoryRetentionMs).Time(_database.TimeProvider.GetUtcNow());
        await PostgresDatabase.ScalarAsync(command, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyList<JobEvent>> GetHistoryAsync(string jobId, long afterSequence, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        ArgumentOutOfRangeException.ThrowIfNegative(afterSequence);
        var command = (await _database.CommandAsync(
            $"SELECT sequence, payload FROM {_database.QuotedSchema}.job_events WHERE job_id = $1 AND sequence > $2 ORDER BY sequence",
            cancellationToken).ConfigureAwait(false)).Text(jobId).Bigint(afterSequence);
        return await PostgresDatabase.ReadAsync<IReadOnlyList<JobEvent>>(
            command,
            async (reader, ct) =>
            {
                var events = new List<JobEvent>();
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    if (TryDeserialize(reader.GetString(1), jobId) is { } jobEvent)
                    {
                        events.Add(jobEvent with { Sequence = reader.GetInt64(0) });
                    }
                }

                return events;
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>An event as its notification's payload, shortened to fit; null (logged) when even that does not fit.</summary>
    internal static string? Payload(JobEvent jobEvent, ILogger logger)
    {
        var payload = JsonSerializer.Serialize(jobEvent, PostgresJsonContext.Default.JobEvent);
        if (Encoding.UTF8.GetByteCount(payload) <= MaxPayloadBytes)
        {
            return payload;
        }

        var shortened = jobEvent with
        {
            Message = Shorten(jobEvent.Message),
            Error = jobEvent.Error is { } error ? error with { Message = Shorten(error.Message)! } : null,
        };
        payload = JsonSerializer.Serialize(shortened, PostgresJsonContext.Default.JobEvent);
        if (Encoding.UTF8.GetByteCount(payload) <= MaxPayloadBytes)
        {
            return payload;
        }

        Log.EventTooLarge(logger, jobEvent.Type, jobEvent.JobId);
        return null;
    }

    private static string? Shorten(string? text) =>
        text is null || text.Length <= ShortenedTextLength ? text : string.Concat(text.AsSpan(0, ShortenedTextLength), "…");

    public async ValueTask<IAsyncEnumerator<JobEvent>> OpenSubscriptionAsync(string jobId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        var channelName = _database.EventChannel(jobId);
        var events = Channel.CreateUnbounded<JobEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

        // Returns once the listening connection has run LISTEN: later notifications reach the handler.
        var subscription = await _database.Listener.ListenAsync(
            channelName,
            payload =>
            {
                if (TryRead(payload, channelName) is { } jobEvent && jobEvent.JobId == jobId)
                {
                    events.Writer.TryWrite(jobEvent);
                }
            },
            cancellationToken).ConfigureAwait(false);
        return new ChannelEventSubscription(events.Reader, subscription.DisposeAsync, cancellationToken);
    }

    /// <summary>Reads a notification, <c>{sequence} {JSON}</c>.</summary>
    private JobEvent? TryRead(string payload, string channel)
    {
        var space = payload.IndexOf(' ', StringComparison.Ordinal);
        if (space <= 0 || !long.TryParse(payload.AsSpan(0, space), NumberStyles.None, CultureInfo.InvariantCulture, out var sequence))
        {
            Log.MalformedEventSkipped(_logger, channel, new FormatException("The notification does not start with a sequence number."));
            return null;
        }

        return TryDeserialize(payload[(space + 1)..], channel) is { } jobEvent ? jobEvent with { Sequence = sequence } : null;
    }

    private JobEvent? TryDeserialize(string payload, string channel)
    {
        try
        {
            return JsonSerializer.Deserialize(payload, PostgresJsonContext.Default.JobEvent);
        }
        catch (JsonException e)
        {
            Log.MalformedEventSkipped(_logger, channel, e);
            return null;
        }
    }
}
