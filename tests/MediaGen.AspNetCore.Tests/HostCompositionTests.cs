using Microsoft.AspNetCore.Http.Metadata;

namespace MediaGen.AspNetCore.Tests;

public sealed class HostCompositionTests
{
    [Fact]
    public async Task ReturnedGroup_TakesTheHostsAuthorizationPolicyForEveryEndpoint()
    {
        await using var host = await TestApiHost.StartAsync(worker: false, group: g => g.RequireAuthorization(p => p.RequireClaim("scope", "images")));
        using var withoutScope = host.CreateClient("scoped-owner");
        using var withScope = host.CreateClient("scoped-owner");
        withScope.DefaultRequestHeaders.Add("X-Scope", "images");

        Assert.Equal(HttpStatusCode.Forbidden, (await withoutScope.GetAsync("/api/v1/credits")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await withoutScope.GetAsync("/api/v1/models")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await withScope.GetAsync("/api/v1/credits")).StatusCode);
    }

    [Fact]
    public async Task ReturnedGroup_TakesTheHostsFilters()
    {
        await using var host = await TestApiHost.StartAsync(worker: false, group: g => g.AddEndpointFilter(async (context, next) =>
        {
            context.HttpContext.Response.Headers["X-Host-Filter"] = "ran";
            return await next(context);
        }));
        using var client = host.CreateClient("filtered-owner");

        using var response = await client.GetAsync("/api/v1/models");

        Assert.Equal("ran", response.Headers.GetValues("X-Host-Filter").Single());
    }

    [Fact]
    public async Task EveryEndpoint_CarriesItsOpenApiMetadata()
    {
        await using var host = await TestApiHost.StartAsync(worker: false);

        var endpoints = host.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api/v1", StringComparison.Ordinal) == true && e.Metadata.GetMetadata<IExcludeFromDescriptionMetadata>() is null)
            .ToArray();

        Assert.Equal(9, endpoints.Length);
        Assert.All(endpoints, e =>
        {
            Assert.NotNull(e.Metadata.GetMetadata<IEndpointNameMetadata>());
            Assert.NotNull(e.Metadata.GetMetadata<IEndpointSummaryMetadata>());
            Assert.NotEmpty(e.Metadata.GetOrderedMetadata<ITagsMetadata>());
            var responses = e.Metadata.GetOrderedMetadata<IProducesResponseTypeMetadata>();
            Assert.Contains(responses, r => r.StatusCode == 401 && r.ContentTypes.Contains("application/problem+json"));
            Assert.Contains(responses, r => r.StatusCode is >= 200 and < 300);
        });
        var events = Assert.Single(endpoints, e => e.Metadata.GetMetadata<IEndpointNameMetadata>()!.EndpointName == "StreamGenerationEvents");
        Assert.Contains(events.Metadata.GetOrderedMetadata<IProducesResponseTypeMetadata>(), r => r.StatusCode == 200 && r.ContentTypes.Contains("text/event-stream"));
        var submit = Assert.Single(endpoints, e => e.Metadata.GetMetadata<IEndpointNameMetadata>()!.EndpointName == "CreateGeneration");
        Assert.Equal(typeof(CreateGenerationBody), submit.Metadata.GetMetadata<IAcceptsMetadata>()!.RequestType);
    }

    [Fact]
    public async Task OwnerClaimTypes_Option_ChoosesTheClaim()
    {
        await using var host = await TestApiHost.StartAsync(worker: false, api: o => o.OwnerClaimTypes = ["tenant"]);
        using var tenant = host.CreateClient("tenant-7", claimType: "tenant");
        using var nameIdentifier = host.CreateClient("someone");

        var credits = await (await tenant.GetAsync("/api/v1/credits")).ReadJsonAsync();
        using var refused = await nameIdentifier.GetAsync("/api/v1/credits");

        Assert.Equal("tenant-7", credits.GetProperty("ownerId").GetString());
        await refused.AssertProblemAsync(401, "unauthenticated");
    }

    [Fact]
    public async Task MaxRequestBodyBytes_Option_SetsTheLimit()
    {
        await using var host = await TestApiHost.StartAsync(worker: false, api: o => o.MaxRequestBodyBytes = 1024);
        using var client = host.CreateClient("small-body-owner");

        using var response = await client.SubmitAsync(new { prompt = new string('a', 1500), model = "procedural" });

        await response.AssertProblemAsync(413, "request_too_large");
    }

    [Fact]
    public async Task InvalidOptions_StopTheHostAtStartUp()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => TestApiHost.StartAsync(worker: false, api: o => o.OwnerClaimTypes = []));

        Assert.Contains("OwnerClaimTypes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MapMediaGeneration_WithoutAddHttpApi_ThrowsNamingTheCall()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Services.AddMediaGeneration();
        using var app = builder.Build();

        var error = Assert.Throws<InvalidOperationException>(() => app.MapMediaGeneration());

        Assert.Contains("AddHttpApi()", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HostWithoutAuthentication_GetsA401ProblemFromTheApi()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddMediaGeneration().AddProceduralGenerator().AddHttpApi();
        await using var app = builder.Build();
        app.MapMediaGeneration();
        await app.StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

        using var response = await client.GetAsync("/api/v1/credits");

        await response.AssertProblemAsync(401, "unauthenticated");
        await app.StopAsync();
    }
}
