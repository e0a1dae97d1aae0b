using MediaGen;
using MediaGen.AspNetCore.Internal.Dashboard;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps MediaGen's operator dashboard.</summary>
public static class MediaGenerationDashboardEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the operator dashboard under <paramref name="prefix"/>: a page (its assets embedded in this package) over JSON
    /// endpoints of its own under <c>{prefix}/api/</c>: queue depth by state and priority and the oldest pending job's
    /// age, throughput and failure rate per model, running jobs, workers and their heartbeats, recent failures, dead
    /// letters with replay and delete, and a job's detail. It is for operators and is not scoped to an owner, so it is
    /// protected by default: it requires <see cref="MediaGenerationDashboardOptions.AuthorizationPolicy"/> when the host
    /// names one, and otherwise answers only local requests (403 for any other). Its actions are POSTs that must carry
    /// the antiforgery token the page fetches.
    /// </summary>
    /// <param name="endpoints">The application or another route builder.</param>
    /// <param name="prefix">The route prefix, such as <c>/mediagen</c>.</param>
    /// <returns>The route group, for the host's own conventions (rate limiting, more authorization).</returns>
    /// <exception cref="InvalidOperationException"><c>AddDashboard()</c> was not called on MediaGen's builder.</exception>
    public static RouteGroupBuilder MapMediaGenerationDashboard(this IEndpointRouteBuilder endpoints, string prefix = "/mediagen")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(prefix);
        if (endpoints.ServiceProvider.GetService<DashboardQueries>() is null)
        {
            throw new InvalidOperationException(
                "MediaGen's dashboard is not registered: call services.AddMediaGeneration(...).AddDashboard() before MapMediaGenerationDashboard.");
        }

        // Created now, so the meter listener hears jobs from the start.
        _ = endpoints.ServiceProvider.GetRequiredService<DashboardThroughput>();
        var options = endpoints.ServiceProvider.GetRequiredService<IOptions<MediaGenerationDashboardOptions>>().Value;
        var dashboard = endpoints.MapGroup(prefix).ExcludeFromDescription();
        if (options.AuthorizationPolicy is { } policy)
        {
            dashboard.RequireAuthorization(policy);
        }
        else
        {
            dashboard.AddEndpointFilter<LocalRequestsOnlyFilter>();
        }

        dashboard.AddEndpointFilter<DashboardEndpointFilter>();
        DashboardEndpoints.Map(dashboard);
        return dashboard;
    }
}
