using Microsoft.AspNetCore.Mvc;

namespace MediaGen.Samples.Api;

/// <summary>The REST endpoints under <c>/api/v1</c>.</summary>
internal static class GenerationEndpoints
{
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    public static IEndpointRouteBuilder MapGenerationEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1")
            .AddEndpointFilter(RequireOwnerAsync)
            .ProducesProblem(StatusCodes.Status401Unauthorized);

        var generations = api.MapGroup("/generations").WithTags("Generations");
        generations.MapPost("/", SubmitAsync)
            .WithName("CreateGeneration")
            .WithSummary("Submits a generation; answers 202 with the new job, or 200 with the job an idempotency key already names.")
            .Produces<JobResponse>(StatusCodes.Status202Accepted)
            .Produces<JobResponse>(StatusCodes.Status200OK)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status402PaymentRequired)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        generations.MapGet("/", ListAsync)
            .WithName("ListGenerations")
            .WithSummary("Lists the caller's jobs, newest first, optionally with one status; page with the cursor.")
            .ProducesValidationProblem();
        generations.MapGet("/{id}", GetAsync)
            .WithName("GetGeneration")
            .WithSummary("Gets one of the caller's jobs.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        generations.MapDelete("/{id}", DeleteAsync)
            .WithName("DeleteGeneration")
            .WithSummary("Deletes a finished job and its outputs; a pending or running job must be canceled first (409).")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        generations.MapPost("/{id}/cancel", CancelAsync)
            .WithName("CancelGeneration")
            .WithSummary("Cancels a pending or running job and refunds its credits.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        generations.MapPost("/{id}/retry", RetryAsync)
            .WithName("RetryGeneration")
            .WithSummary("Runs a failed or canceled job again as a new run, charged again (202); 409 for any other job, 402 when the balance is short.")
            .Produces<JobResponse>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status402PaymentRequired)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        generations.MapGet("/{id}/events", JobEventsEndpoint.StreamAsync)
            .WithName("StreamGenerationEvents")
            .WithSummary("Streams the job as server-sent events: its current state, then each event, until it finishes.")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesProblem(StatusCodes.Status404NotFound);

        api.MapGet("/models", GetModels).WithTags("Catalog").WithName("ListModels").WithSummary("Lists the models and what they cost.");
        api.MapGet("/credits", GetCreditsAsync).WithTags("Credits").WithName("GetCredits").WithSummary("Gets the caller's credit balance.");
        return app;
    }

    private static async ValueTask<object?> RequireOwnerAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var resolver = http.RequestServices.GetRequiredService<OwnerResolver>();
        var allowQueryKey = http.Request.Path.Value?.EndsWith("/events", StringComparison.Ordinal) == true;
        if (!resolver.TryResolve(http, allowQueryKey))
        {
            http.Response.Headers.WWWAuthenticate = "Bearer";
            return Results.Problem(
                statusCode: StatusCodes.Status401Unauthorized,
                title: "A valid API key is required.",
                detail: "Send it in the X-Api-Key header or as Authorization: Bearer {key}.");
        }

        return await next(context);
    }

    private static async Task<IResult> SubmitAsync(
        CreateGenerationBody body,
        [FromHeader(Name = IdempotencyKeyHeader)] string? idempotencyKey,
        HttpContext http,
        IMediaGenerationClient client,
        ResponseMapper mapper,
        CancellationToken cancellationToken)
    {
        Uri? webhook = null;
        if (!string.IsNullOrWhiteSpace(body.WebhookUrl)
            && (!Uri.TryCreate(body.WebhookUrl, UriKind.Absolute, out webhook) || (webhook.Scheme != Uri.UriSchemeHttp && webhook.Scheme != Uri.UriSchemeHttps)))
        {
            throw new RequestValidationException("webhookUrl", "Must be an absolute http or https URL.");
        }

        var request = new GenerationRequest
        {
            Prompt = body.Prompt ?? string.Empty,
            NegativePrompt = body.NegativePrompt,
            Model = body.Model ?? string.Empty,
            OwnerId = OwnerResolver.GetOwner(http),
            Settings = new GenerationSettings
            {
                Width = body.Width,
                Height = body.Height,
                AspectRatio = body.AspectRatio,
                OutputCount = body.OutputCount,
                OutputFormat = body.OutputFormat,
                Seed = body.Seed,
            },
            Parameters = body.Parameters,
            IdempotencyKey = string.IsNullOrEmpty(idempotencyKey) ? null : idempotencyKey,
            WebhookUrl = webhook,
            Priority = body.Priority ?? JobPriority.Normal,
        };

        var (job, created) = await client.SubmitAsync(request, cancellationToken);
        var response = await mapper.ToResponseAsync(job, cancellationToken);
        var location = $"/api/v1/generations/{job.Id}";
        if (created)
        {
            return Results.Accepted(location, response);
        }

        // The idempotency key named an existing job: the same job, nothing charged again.
        http.Response.Headers.Location = location;
        http.Response.Headers["Idempotent-Replayed"] = "true";
        return Results.Ok(response);
    }

    private static async Task<JobResponse> GetAsync(string id, HttpContext http, IMediaGenerationClient client, ResponseMapper mapper, CancellationToken cancellationToken)
    {
        var job = await client.GetAsync(OwnerResolver.GetOwner(http), id, cancellationToken);
        return await mapper.ToResponseAsync(job, cancellationToken);
    }

    private static async Task<JobListResponse> ListAsync(
        string? status,
        string? cursor,
        string? limit,
        HttpContext http,
        IMediaGenerationClient client,
        ResponseMapper mapper,
        CancellationToken cancellationToken)
    {
        JobStatus? statusFilter = null;
        if (!string.IsNullOrEmpty(status))
        {
            if (!Enum.TryParse<JobStatus>(status, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed) || char.IsDigit(status[0]))
            {
                throw new RequestValidationException("status", $"Must be one of: {string.Join(", ", Enum.GetNames<JobStatus>().Select(n => n.ToLowerInvariant()))}.");
            }

            statusFilter = parsed;
        }

        var pageSize = 20;
        if (!string.IsNullOrEmpty(limit) && !int.TryParse(limit, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out pageSize))
        {
            throw new RequestValidationException("limit", $"Must be a whole number from 1 to {JobQuery.MaxLimit}.");
        }

        var page = await client.ListAsync(
            new JobQuery { OwnerId = OwnerResolver.GetOwner(http), Status = statusFilter, Cursor = string.IsNullOrEmpty(cursor) ? null : cursor, Limit = pageSize },
            cancellationToken);
        var items = new JobResponse[page.Items.Count];
        for (var i = 0; i < items.Length; i++)
        {
            items[i] = await mapper.ToResponseAsync(page.Items[i], cancellationToken);
        }

        return new JobListResponse(items, page.NextCursor);
    }

    private static async Task<IResult> DeleteAsync(string id, HttpContext http, IMediaGenerationClient client, CancellationToken cancellationToken)
    {
        await client.DeleteAsync(OwnerResolver.GetOwner(http), id, cancellationToken);
        return Results.NoContent();
    }

    private static async Task<JobResponse> CancelAsync(string id, HttpContext http, IMediaGenerationClient client, ResponseMapper mapper, CancellationToken cancellationToken)
    {
        var job = await client.CancelAsync(OwnerResolver.GetOwner(http), id, cancellationToken);
        return await mapper.ToResponseAsync(job, cancellationToken);
    }

    private static ModelResponse[] GetModels(IMediaGenerationClient client) =>
        client.GetModels().Select(ResponseMapper.ToResponse).ToArray();

    private static async Task<IResult> RetryAsync(string id, HttpContext http, IMediaGenerationClient client, ResponseMapper mapper, CancellationToken cancellationToken)
    {
        var job = await client.RetryAsync(OwnerResolver.GetOwner(http), id, cancellationToken);
        return Results.Accepted($"/api/v1/generations/{job.Id}", await mapper.ToResponseAsync(job, cancellationToken));
    }

    private static async Task<CreditsResponse> GetCreditsAsync(HttpContext http, ICreditLedger ledger, CancellationToken cancellationToken)
    {
        var owner = OwnerResolver.GetOwner(http);
        return new CreditsResponse(owner, await ledger.GetBalanceAsync(owner, cancellationToken));
    }
}
