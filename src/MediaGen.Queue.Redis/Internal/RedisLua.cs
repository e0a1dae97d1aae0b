namespace MediaGen.Queue.Redis.Internal;

/// <summary>
/// Lua shared by every script: number formatting, and the queue-key table the queue, store and lifecycle scripts all
/// read their queue keys from. Each seam's functions are written once (<see cref="QueueScripts.Functions"/>,
/// <see cref="StoreScripts.Functions"/>, <see cref="RedisCreditLedger.Functions"/>) and concatenated into the scripts
/// that need them, so a lifecycle step runs exactly the code of the per-seam operations it combines.
/// </summary>
/// <remarks>
/// Every script that touches the queue takes KEYS 1 ready, 2 delayed, 3 leased, 4 dead, 5 sequence, 6 fair share and ARGV 1 the
/// message-hash prefix, 2 the wake-up channel (<see cref="RedisKeys.QueueScriptKeys"/>).
/// Numbers are formatted with %.0f because Lua's default number formatting keeps only 14 digits.
/// </remarks>
internal static class RedisLua
{
    /// <summary>Defines <c>fmt</c> and the queue table <c>q</c>.</summary>
    public const string Prelude = """
        local function fmt(n) return string.format('%.0f', n) end
        local q = { ready = KEYS[1], delayed = KEYS[2], leased = KEYS[3], dead = KEYS[4], seq = KEYS[5], fair = KEYS[6], prefix = ARGV[1], wake = ARGV[2] }

        """;
}
