using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace MediaGen.PostgreSql.Internal;

/// <summary>
/// Job events over <c>LISTEN</c>/<c>NOTIFY</c>, one channel per job (<see cref="PostgresChannels.Events"/>), so a subscriber
/// in any process sees what a worker in any other process publishes, in commit order. Live and best effort, like the
/// contract: an event published while no one listens, or while the listening connection is down, is not kept (the job
/// store holds the state). A notification carries at most 8000 bytes: an event longer than that is sent with its
/// message texts shortened (the job keeps the full error).
/// </summary>
internal sealed class PostgresJobEventStream : IJobEventStream
{
    /// <summary>The longest payload sent, a little under PostgreSQL's limit of 8000 bytes.</summary>
    internal const int MaxPayloadBytes = 7900;

    private const int ShortenedTextLength = 500;

    private readonly PostgresDatabase _database;
    private readonly ILogger _logger;

    public PostgresJobEventStream(PostgresDatabase database, ILogger<PostgresJobEventStream> logger)
    {
        _database = database;
        _logger = logger;
    }

    internal PostgresDatabase Database => _database;

    public async ValueTask PublishAsync(JobEvent jobEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jobEvent);
        if (Payload(jobEvent, _logger) is not { } payload)
        {
            return;
        }

        var command = (await _database.CommandAsync("SELECT pg_notify($1, $2)", cancellationToken).ConfigureAwait(false))
            .Text(_database.EventChannel(jobEvent.JobId)).Text(payload);
        await PostgresDatabase.ScalarAsync(command, cancellationToken).ConfigureAwait(false);
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

    public async IAsyncEnumerable<JobEvent> SubscribeAsync(string jobId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        var channelName = _database.EventChannel(jobId);
        var events = Channel.CreateUnbounded<JobEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
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
        try
        {
            while (true)
            {
                yield return await events.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            await subscription.DisposeAsync().ConfigureAwait(false);
        }
    }

    private JobEvent? TryRead(string payload, string channel)
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
