using MediaGen;
using MediaGen.AspNetCore.Internal.Dashboard;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

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
    public static IMediaGenerationBuilder AddDashboard(this IMediaGenerationBuilder builder, Action<MediaGenerationDashboardOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var options = services.AddOptions<MediaGenerationDashboardOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MediaGenerationDashboardOptions>, MediaGenerationDashboardOptionsValidator>());
        if (configure is not null)
        {
            options.Configure(configure);
        }

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
