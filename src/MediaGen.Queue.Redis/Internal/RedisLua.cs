using StackExchange.Redis;

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

/// <summary>
/// A script and its SHA1 digest, the name Redis caches it under. Calling it by digest (EVALSHA) spares the client hashing
/// the script's text on every call: StackExchange.Redis finds the digest of a text script in a table keyed by the text,
/// which hashes all of it (several µs per call for a lifecycle script of about 13 KB, about 1.3% of the pipeline client's
/// CPU). A server that does not have the script cached yet (first use, a restart, SCRIPT FLUSH) answers NOSCRIPT, and the
/// call is sent again with the text, which caches it.
/// </summary>
internal sealed class RedisScript
{
    private readonly byte[] _digest;

    public RedisScript(string text)
    {
        Text = text;
#pragma warning disable CA5350 // SHA1 is how Redis names cached scripts, not a security measure.
        _digest = System.Security.Cryptography.SHA1.HashData(System.Text.Encoding.UTF8.GetBytes(text));
#pragma warning restore CA5350
    }

    /// <summary>The script's text.</summary>
    public string Text { get; }

    /// <summary>Runs the script with <paramref name="keys"/> and <paramref name="values"/>.</summary>
    public async Task<RedisResult> EvaluateAsync(StackExchange.Redis.IDatabaseAsync database, RedisKey[] keys, RedisValue[] values)
    {
        try
        {
            return await database.ScriptEvaluateAsync(_digest, keys, values).ConfigureAwait(false);
        }
        catch (RedisServerException e) when (e.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            return await database.ScriptEvaluateAsync(Text, keys, values).ConfigureAwait(false);
        }
    }
}
