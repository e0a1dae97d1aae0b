using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace MediaGen.AspNetCore.Internal;

/// <summary>The REST endpoints: submit, list, get, delete, cancel, retry, events, models and credits.</summary>
internal static class GenerationEndpoints
{
    public const string IdempotencyKeyHeader = "Idempotency-Key";
    private const int MaxJobIdLength = 128;

    public static void Map(RouteGroupBuilder api)
    {
        var generations = api.MapGroup("/generations").WithTags("Generations");
        generations.MapPost("/", SubmitAsync)
            .WithName("CreateGeneration")
            .WithSummary("Submits a generation; answers 202 with the new job, or 200 with the job an idempotency key already names.")
            .Accepts<CreateGenerationBody>("application/json")
            .Produces<JobResponse>(StatusCodes.Status202Accepted)
            .Produces<JobResponse>(StatusCodes.Status200OK)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status402PaymentRequired)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        generations.MapGet("/", ListAsync)
            .WithName("ListGenerations")
            .WithSummary("Lists the caller's jobs, newest first, optionally with one status; page with the cursor.")
            .WithDescription(
                "`status` filters by one status, named in any case: `pending`, `processing`, `succeeded`, `failed` or " +
                "`canceled`; a list (`processing,succeeded`), a repeated parameter or another name is a 400. " +
                $"`limit` is 1 to {JobQuery.MaxLimit} (20 by default); `cursor` is the previous page's `nextCursor`.")
            .Produces<JobListResponse>()
            .ProducesValidationProblem();
        generations.MapGet("/{id}", GetAsync)
            .WithName("GetGeneration")
            .WithSummary("Gets one of the caller's jobs.")
            .Produces<JobResponse>()
            .ProducesProblem(StatusCodes.Status404NotFound);
        generations.MapDelete("/{id}", DeleteAsync)
            .WithName("DeleteGeneration")
            .WithSummary("Deletes a finished job and its outputs; a pending or running job must be canceled first (409), and a job retried after the delete read it is kept (409).")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        generations.MapPost("/{id}/cancel", CancelAsync)
            .WithName("CancelGeneration")
            .WithSummary("Cancels a pending or running job and refunds its credits.")
            .Produces<JobResponse>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        generations.MapPost("/{id}/retry", RetryAsync)
            .WithName("RetryGeneration")
            .WithSummary("Runs a failed or canceled job again as a new run, charged again (202); 409 for any other job or one being deleted, 402 when the balance is short.")
            .Produces<JobResponse>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status402PaymentRequired)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        generations.MapGet("/{id}/events", JobEventsEndpoint.StreamAsync)
            .WithName("StreamGenerationEvents")
            .WithSummary("Streams the job as server-sent events: its current state, then each event, until it finishes.")
            .WithDescription(
                "Events: `job` (the job's state, first and last), one per job event (`queued`, `started`, `progress`, `outputStored`, " +
                "`retrying`, `succeeded`, `failed`, `canceled`, `cancelRequested`, `retried`) with the event's per-job sequence as its " +
                "`id`, and `position` (the place in the queue) while the job is pending. A client that reconnects with `Last-Event-ID` " +
                "(or `?lastEventId=`) gets the events it missed from the job's kept history, then the live ones.")
            // A type, so the document names the stream's content type (each event's data is JSON).
            .Produces<string>(StatusCodes.Status200OK, "text/event-stream")
            .ProducesProblem(StatusCodes.Status404NotFound);

        api.MapGet("/models", GetModels)
            .WithTags("Catalog")
            .WithName("ListModels")
            .WithSummary("Lists the models and what they cost.")
            .Produces<ModelResponse[]>();
        api.MapGet("/credits", GetCreditsAsync)
            .WithTags("Credits")
            .WithName("GetCredits")
            .WithSummary("Gets the caller's credit balance.")
            .Produces<CreditsResponse>();
    }

    /// <summary>
    /// A path id that no job can have (control characters, or longer than any id) is not looked up: it is "not found"
    /// at once, and its text is not echoed back.
    /// </summary>
    internal static string CheckJobId(string id)
    {
        if (id.Length is 0 or > MaxJobIdLength || id.AsSpan().ContainsAnyInRange('\0', '\u001f') || id.Contains('\u007f'))
        {
            throw new JobNotFoundException("(invalid id)");
        }

        return id;
    }

    /// <summary>
    /// The job's URL, from the request's own: <c>.../generations</c> plus the id, or <c>.../generations/{id}</c> for an
    /// action on it. Escaped as a URL (the request's path is held decoded), so the header is always one the server can
    /// send: it is set after the job was created or charged, when an error could no longer say what happened.
    /// </summary>
    private static void SetLocation(HttpContext http, string jobId, bool fromCollection)
    {
        var path = (http.Request.PathBase + http.Request.Path).ToUriComponent().TrimEnd('/');
        http.Response.Headers.Location = fromCollection ? string.Concat(path, "/", Uri.EscapeDataString(jobId)) : path[..path.LastIndexOf('/')];
    }

    private static async Task<IResult> SubmitAsync(
        HttpContext http,
        IMediaGenerationClient client,
        ResponseMapper mapper,
        IOptions<MediaGenerationApiOptions> options,
        CancellationToken cancellationToken)
    {
        var body = await JsonBodyReader.ReadAsync<CreateGenerationBody>(http.Request, options.Value.MaxRequestBodyBytes, cancellationToken).ConfigureAwait(false);
        var idempotencyKey = http.Request.Headers[IdempotencyKeyHeader].ToString();
        Uri? webhook = null;
        if (!string.IsNullOrWhiteSpace(body.WebhookUrl) && !Uri.TryCreate(body.WebhookUrl, UriKind.Absolute, out webhook))
        {
            throw new RequestValidationException("webhookUrl", "Must be an absolute http or https URL.");
        }

        var request = new GenerationRequest
        {
            Prompt = body.Prompt ?? string.Empty,
            NegativePrompt = body.NegativePrompt,
            Model = body.Model ?? string.Empty,
            OwnerId = ApiEndpointFilter.GetOwner(http),
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
            WebhookEvents = WebhookEventNames.Parse(body.WebhookEventsFilter),
            Priority = body.Priority ?? JobPriority.Normal,
            UseResultCache = body.UseResultCache,
        };

        var (job, created) = await client.SubmitAsync(request, cancellationToken).ConfigureAwait(false);
        // From here the job exists and is charged: nothing below may fail, or the client would be told it was not.
        var response = await mapper.ToResponseAfterChangeAsync(job, cancellationToken).ConfigureAwait(false);
        SetLocation(http, job.Id, fromCollection: true);
        if (created)
        {
            return TypedResults.Json(response, ApiJson.TypeInfo<JobResponse>(), statusCode: StatusCodes.Status202Accepted);
        }

        // The idempotency key named an existing job: the same job, nothing charged again.
        http.Response.Headers["Idempotent-Replayed"] = "true";
        return TypedResults.Json(response, ApiJson.TypeInfo<JobResponse>());
    }

    private static async Task<IResult> GetAsync(string id, HttpContext http, IMediaGenerationClient client, ResponseMapper mapper, CancellationToken cancellationToken)
    {
        var job = await client.GetAsync(ApiEndpointFilter.GetOwner(http), CheckJobId(id), cancellationToken).ConfigureAwait(false);
        return TypedResults.Json(await mapper.ToResponseAsync(job, cancellationToken).ConfigureAwait(false), ApiJson.TypeInfo<JobResponse>());
    }

    private static async Task<IResult> ListAsync(HttpContext http, IMediaGenerationClient client, ResponseMapper mapper, CancellationToken cancellationToken)
    {
        var queryString = http.Request.Query;
        var status = Single(queryString, "status");
        var cursor = Single(queryString, "cursor");
        var limit = Single(queryString, "limit");
        JobStatus? statusFilter = null;
        if (!string.IsNullOrEmpty(status))
        {
            if (!EnumName.TryParse<JobStatus>(status, out var parsed))
            {
                throw new RequestValidationException("status", $"Must be one status, one of: {EnumName.List<JobStatus>()}.");
            }

            statusFilter = parsed;
        }

        var pageSize = 20;
        if (!string.IsNullOrEmpty(limit) && !int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out pageSize))
        {
            throw new RequestValidationException("limit", $"Must be a whole number from 1 to {JobQuery.MaxLimit}.");
        }

        var page = await client.ListAsync(
            new JobQuery { OwnerId = ApiEndpointFilter.GetOwner(http), Status = statusFilter, Cursor = string.IsNullOrEmpty(cursor) ? null : cursor, Limit = pageSize },
            cancellationToken).ConfigureAwait(false);
        var items = new JobResponse[page.Items.Count];
        for (var i = 0; i < items.Length; i++)
        {
            items[i] = await mapper.ToResponseAsync(page.Items[i], cancellationToken).ConfigureAwait(false);
        }

        return TypedResults.Json(new JobListResponse(items, page.NextCursor), ApiJson.TypeInfo<JobListResponse>());
    }

    /// <summary>
    /// A query parameter's value; a parameter given more than once is refused rather than read as its values joined with
    /// commas (what <see cref="Microsoft.Extensions.Primitives.StringValues.ToString"/> makes of them).
    /// </summary>
    private static string Single(IQueryCollection query, string name)
    {
        var values = query[name];
        return values.Count <= 1
            ? values.ToString()
            : throw new RequestValidationException(name, $"Give '{name}' once; it takes one value.");
    }

    private static async Task<IResult> DeleteAsync(string id, HttpContext http, IMediaGenerationClient client, CancellationToken cancellationToken)
    {
        await client.DeleteAsync(ApiEndpointFilter.GetOwner(http), CheckJobId(id), cancellationToken).ConfigureAwait(false);
        return TypedResults.NoContent();
    }

    private static async Task<IResult> CancelAsync(string id, HttpContext http, IMediaGenerationClient client, ResponseMapper mapper, CancellationToken cancellationToken)
    {
        var job = await client.CancelAsync(ApiEndpointFilter.GetOwner(http), CheckJobId(id), cancellationToken).ConfigureAwait(false);
        return TypedResults.Json(await mapper.ToResponseAfterChangeAsync(job, cancellationToken).ConfigureAwait(false), ApiJson.TypeInfo<JobResponse>());
    }

    private static async Task<IResult> RetryAsync(string id, HttpContext http, IMediaGenerationClient client, ResponseMapper mapper, CancellationToken cancellationToken)
    {
        var job = await client.RetryAsync(ApiEndpointFilter.GetOwner(http), CheckJobId(id), cancellationToken).ConfigureAwait(false);
        var response = await mapper.ToResponseAfterChangeAsync(job, cancellationToken).ConfigureAwait(false);
        SetLocation(http, job.Id, fromCollection: false);
        return TypedResults.Json(response, ApiJson.TypeInfo<JobResponse>(), statusCode: StatusCodes.Status202Accepted);
    }

    private static IResult GetModels(IMediaGenerationClient client) =>
        TypedResults.Json(client.GetModels().Select(ResponseMapper.ToResponse).ToArray(), ApiJson.TypeInfo<ModelResponse[]>());

    private static async Task<IResult> GetCreditsAsync(HttpContext http, ICreditLedger ledger, CancellationToken cancellationToken)
    {
        var owner = ApiEndpointFilter.GetOwner(http);
        var balance = await ledger.GetBalanceAsync(owner, cancellationToken).ConfigureAwait(false);
        return TypedResults.Json(new CreditsResponse(owner, balance), ApiJson.TypeInfo<CreditsResponse>());
    }
}
