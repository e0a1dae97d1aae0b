using System.ComponentModel.DataAnnotations;

namespace MediaGen;

/// <summary>Options of MediaGen's operator dashboard (<c>app.MapMediaGenerationDashboard("/mediagen")</c>).</summary>
public sealed class MediaGenerationDashboardOptions
{
    /// <summary>
    /// The name of the authorization policy every dashboard endpoint requires (registered by the host with
    /// <c>services.AddAuthorization(o => o.AddPolicy(...))</c>). Without one the dashboard answers only local requests (from
    /// a loopback address, or from the server's own address) and refuses every other with 403, as Hangfire's dashboard
    /// does by default.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: local requests only.</value>
    public string? AuthorizationPolicy { get; set; }

    /// <summary>How many recent minutes the throughput and failure-rate panel covers.</summary>
    /// <value>The default value is 15.</value>
    [Range(1, 1440)]
    public int ThroughputMinutes { get; set; } = 15;

    /// <summary>
    /// The most jobs of one status the dashboard reads from the job store for a panel (pending and running counts, recent
    /// failures); a panel says when it reached the limit.
    /// </summary>
    /// <value>The default value is 500.</value>
    [Range(10, 100_000)]
    public int ScanLimit { get; set; } = 500;

    /// <summary>How many recent failures and dead letters the dashboard lists.</summary>
    /// <value>The default value is 25.</value>
    [Range(1, 1000)]
    public int ListLimit { get; set; } = 25;
}

/// <summary>Validates <see cref="MediaGenerationDashboardOptions"/> at start-up (source-generated from its attributes).</summary>
[Microsoft.Extensions.Options.OptionsValidator]
internal sealed partial class MediaGenerationDashboardOptionsValidator : Microsoft.Extensions.Options.IValidateOptions<MediaGenerationDashboardOptions>
{
}
