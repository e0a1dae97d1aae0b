namespace MediaGen.Queue.Redis.Internal;

/// <summary>
/// Key names. Every key starts with the prefix as a hash tag (<c>{mediagen}:</c>) so that multi-key scripts are
/// valid on a cluster. Variable parts (owner ids, job ids) always come last, so no two names can collide.
/// </summary>
internal sealed class RedisKeys
{
    public RedisKeys(string keyPrefix, string queueName)
    {
        Root = "{" + keyPrefix + "}:";
        var queue = Root + "q:" + queueName + ":";
        Ready = queue + "ready";
        Delayed = queue + "delayed";
        Leased = queue + "leased";
        Dead = queue + "dead";
        Sequence = queue + "seq";
        Fairness = queue + "fair";
        MessagePrefix = queue + "m:";
        WakeChannel = queue + "wake";
        EventChannelPrefix = Root + "events:";
        CancelChannel = Root + "cancel";
        QueueScriptKeys = [Ready, Delayed, Leased, Dead, Sequence, Fairness];
    }

    /// <summary>KEYS 1-6 of every script that touches the queue (see <see cref="RedisLua"/>).</summary>
    public StackExchange.Redis.RedisKey[] QueueScriptKeys { get; }

    /// <summary>The event channel of one job.</summary>
    public string EventChannel(string jobId) => EventChannelPrefix + jobId;

    /// <summary>The hash-tagged prefix of every key, <c>{prefix}:</c>.</summary>
    public string Root { get; }

    /// <summary>Sorted set of ready message ids, scored by priority band then sequence.</summary>
    public string Ready { get; }

    /// <summary>Sorted set of delayed message ids, scored by due time (Unix ms).</summary>
    public string Delayed { get; }

    /// <summary>Sorted set of leased message ids, scored by lease expiry (Unix ms).</summary>
    public string Leased { get; }

    /// <summary>Sorted set of dead-lettered message ids, scored by dead-letter time (Unix ms).</summary>
    public string Dead { get; }

    /// <summary>Counter for ready ordering and lease tokens.</summary>
    public string Sequence { get; }

    /// <summary>The fair-share hash: the virtual time (field <c>vt</c>) and each group's last tag (<c>o:{group}</c>).</summary>
    public string Fairness { get; }

    /// <summary>Prefix of the per-message hashes (body, priority, delivery count, lease token, dead-letter details).</summary>
    public string MessagePrefix { get; }

    /// <summary>Pub/sub channel that wakes waiting receivers.</summary>
    public string WakeChannel { get; }

    /// <summary>Prefix of the per-job event channels.</summary>
    public string EventChannelPrefix { get; }

    /// <summary>Pub/sub channel of cancel signals: each message is the id of a job whose cancel was recorded.</summary>
    public string CancelChannel { get; }

    /// <summary>A provider's rate-limit pause: its deadline (Unix ms), expiring a while after it passes.</summary>
    public string ProviderPause(string provider) => Root + "pause:" + provider;

    /// <summary>
    /// KEYS 1-3 of every webhook outbox script: the sorted set of waiting and leased delivery ids by due time or lease
    /// expiry (Unix ms), the sorted set of given-up ones by expiry, and the lease-token counter.
    /// </summary>
    public StackExchange.Redis.RedisKey[] WebhookScriptKeys => [Root + "webhooks:due", Root + "webhooks:gaveup", Root + "webhooks:seq"];

    /// <summary>Prefix of the per-delivery hashes (job, payload, attempts, lease token, last error, due time).</summary>
    public string WebhookPrefix => Root + "webhooks:d:";

    /// <summary>The hash of workers' last heartbeats, by worker id.</summary>
    public string Workers => Root + "workers";

    /// <summary>The result cache's entry for a request's cache key.</summary>
    public string ResultCache(string key) => Root + "cache:" + key;

    public string CreditBalance(string ownerId) => Root + "credit:balance:" + ownerId;

    /// <summary>Sorted set of open reservations (<see cref="ReservationMember"/>), scored by reservation time (Unix ms).</summary>
    public string CreditOpen => Root + "credit:open";

    /// <summary>The prefix of every reservation hash; a reservation's key is this plus its <see cref="ReservationMember"/>.</summary>
    public string CreditReservationPrefix => Root + "credit:res:";

    public string CreditReservation(string ownerId, string jobId) => CreditReservationPrefix + ReservationMember(ownerId, jobId);

    /// <summary><c>{owner length}:{owner}:{job}</c>: unambiguous whatever characters the owner and job ids hold.</summary>
    public static string ReservationMember(string ownerId, string jobId) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{ownerId.Length}:{ownerId}:{jobId}");

    public static bool TryParseReservationMember(string member, out string ownerId, out string jobId)
    {
        ownerId = jobId = string.Empty;
        var colon = member.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || !int.TryParse(member.AsSpan(0, colon), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var length)
            || colon + 1 + length + 1 > member.Length || member[colon + 1 + length] != ':')
        {
            return false;
        }

        ownerId = member.Substring(colon + 1, length);
        jobId = member[(colon + 2 + length)..];
        return true;
    }
}
