using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using MediaGen.Shared;

namespace MediaGen;

/// <summary>Options for MediaGen on PostgreSQL: the job store, credit ledger, queue, event stream, cancel signal and provider pauses.</summary>
/// <remarks>
/// Lease and delay times are computed from each process's <see cref="TimeProvider"/> and compared inside PostgreSQL, never
/// against the server's clock, so the clocks of the machines sharing one database must agree to well within
/// <see cref="LeaseDuration"/> (NTP-synchronised clocks are enough).
/// </remarks>
public sealed class PostgreSqlOptions
{
    /// <summary>
    /// The Npgsql connection string, for example <c>Host=db;Database=app;Username=mediagen;Password=...</c>. Not used when a
    /// caller-owned <c>NpgsqlDataSource</c> is passed in.
    /// </summary>
    /// <value>The default value is <see langword="null"/>.</value>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// The schema MediaGen's tables and functions live in. Use one per environment sharing a database. Lowercase letters,
    /// digits and underscores, starting with a letter or underscore, at most 30 characters.
    /// </summary>
    /// <value>The default value is <c>mediagen</c>.</value>
    [Required]
    [RegularExpression("^[a-z_][a-z0-9_]{0,29}$", ErrorMessage = "The schema name must be 1 to 30 lowercase letters, digits or '_', starting with a letter or '_'.")]
    public string SchemaName { get; set; } = "mediagen";

    /// <summary>
    /// Whether the process applies the package's migrations when it starts (under an advisory lock, so processes starting
    /// together apply each migration once). When <see langword="false"/>, the process only checks that the schema is at
    /// the version it needs and stops with an error naming the first missing migration; apply them beforehand with
    /// <see cref="PostgreSqlSchema.ApplyMigrationsAsync(Npgsql.NpgsqlDataSource, string, CancellationToken)"/>.
    /// </summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool ApplyMigrationsOnStartup { get; set; } = true;

    /// <summary>How long a received message stays invisible before it is delivered again, unless its lease is renewed or settled.</summary>
    /// <value>The default value is 30 seconds.</value>
    [TimeSpanRange("00:00:00.010", "1.00:00:00")]
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The most messages one receive leases in one round trip, whatever the caller asks for.</summary>
    /// <value>The default value is 256.</value>
    [Range(1, 10_000)]
    public int MaxReceiveBatchSize { get; set; } = 256;

    /// <summary>
    /// While a receive waits for messages it is woken by a notification (<c>LISTEN</c>/<c>NOTIFY</c>) when one is enqueued;
    /// it also looks at this interval in case a notification was lost (for example while the listening connection was
    /// restored).
    /// </summary>
    /// <value>The default value is 5 seconds.</value>
    [TimeSpanRange("00:00:00.010", "00:10:00")]
    public TimeSpan IdleCheckInterval { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>Validates <see cref="PostgreSqlOptions"/> at start-up.</summary>
[OptionsValidator]
internal sealed partial class PostgreSqlOptionsValidator : IValidateOptions<PostgreSqlOptions>
{
}
