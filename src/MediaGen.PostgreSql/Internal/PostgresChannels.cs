using System.Security.Cryptography;
using System.Text;

namespace MediaGen.PostgreSql.Internal;

/// <summary>
/// The notification channels of a schema: <c>{schema}.wake</c> (a message became ready or delayed), <c>{schema}.cancel</c>
/// (payload: a job id whose cancel was recorded) and one per job for its events, <c>{schema}.e.{jobId}</c>. A channel name
/// is an identifier of at most 63 bytes; a job's channel that would be longer ends in a hash of the job id instead
/// (subscribers check the job id of each event, so two jobs sharing a hashed channel only cost a skipped event).
/// </summary>
internal static class PostgresChannels
{
    private const int MaxIdentifierBytes = 63;

    public static string Prefix(string schema) => schema + ".";

    public static string Wake(string schema) => Prefix(schema) + "wake";

    public static string Cancel(string schema) => Prefix(schema) + "cancel";

    public static string Events(string schema, string jobId)
    {
        var direct = Prefix(schema) + "e." + jobId;
        if (Encoding.UTF8.GetByteCount(direct) <= MaxIdentifierBytes)
        {
            return direct;
        }

        var hashed = Prefix(schema) + "e#";
        var hex = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(jobId))).ToLowerInvariant();
        return hashed + hex[..(MaxIdentifierBytes - hashed.Length)];
    }

    /// <summary>The channel as a quoted identifier for LISTEN and UNLISTEN.</summary>
    public static string Quote(string channel) => "\"" + channel.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
