using MediaGen;
using MediaGen.AspNetCore.Internal.Dashboard;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using static Microsoft.Extensions.DependencyInjection.MediaGenerationAdapterBuilderExtensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers MediaGen's operator dashboard, which <c>app.MapMediaGenerationDashboard(...)</c> then maps.</summary>
public static class MediaGenerationDashboardBuilderExtensions
{
    /// <summary>
    /// Registers the dashboard: its options, the throughput counter that listens to MediaGen's meter in this process, and
    /// antiforgery (every dashboard action is a POST that must carry the antiforgery token).
    /// </summary>
    /// <param name="builder">MediaGen's builder.</param>
    /// <param name="configure">Configures <see cref="MediaGenerationDashboardOptions"/>; null keeps the defaults (local requests only).</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddDashboard(this IMediaGenerationBuilder builder, Action<MediaGenerationDashboardOptions>? configure = null) =>
        AddDashboard(builder, configure, section: null);

    /// <summary>
    /// Registers the dashboard with <see cref="MediaGenerationDashboardOptions"/> bound from <paramref name="section"/> (for
    /// example <c>MediaGen:Dashboard</c>); an unknown key is a start-up error.
    /// </summary>
    /// <param name="builder">MediaGen's builder.</param>
    /// <param name="section">The configuration section.</param>
    /// <returns>The builder.</returns>
    public static IMediaGenerationBuilder AddDashboard(this IMediaGenerationBuilder builder, IConfigurationSection section) =>
        AddDashboard(builder, configure: null, section ?? throw new ArgumentNullException(nameof(section)));

    private static IMediaGenerationBuilder AddDashboard(IMediaGenerationBuilder builder, Action<MediaGenerationDashboardOptions>? configure, IConfigurationSection? section)
    {
        builder.AddValidatedOptions<MediaGenerationDashboardOptions, MediaGenerationDashboardOptionsValidator>(configure, section, static (o, s) => o.Bind(s, RejectUnknownKeys));
        var services = builder.Services;

        // The dashboard maps jobs as the API does (absolute, freshly signed output URLs).
        services.AddOptions<MediaGenerationApiOptions>();
        services.AddHttpContextAccessor();
        services.TryAddSingleton<MediaGen.AspNetCore.Internal.ResponseMapper>();
        services.AddAntiforgery();
        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<DashboardThroughput>();
        services.TryAddSingleton<DashboardQueries>();
        return builder;
    }
}
