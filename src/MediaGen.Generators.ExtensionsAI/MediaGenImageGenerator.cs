using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;
using MediaGen.Generators.ExtensionsAI.Internal;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MediaGen;

/// <summary>
/// MediaGen behind the Microsoft.Extensions.AI <see cref="IImageGenerator"/> abstraction: a call submits a job through
/// <see cref="IMediaGenerationClient"/> (validated, charged per image, queued), waits for the worker to finish it through
/// <see cref="IJobEventStream"/> with the caller's cancellation, and returns the stored images as <see cref="UriContent"/>
/// (storage read URLs) or <see cref="DataContent"/>. Code written against <see cref="IImageGenerator"/> gains queueing,
/// retries, credits and storage by changing one registration, and Microsoft.Extensions.AI middleware (logging,
/// OpenTelemetry) composes around it. Experimental, as <see cref="IImageGenerator"/> is (MEAI001).
/// </summary>
/// <remarks>
/// <para>A call maps to a request as follows: the prompt; <see cref="ImageGenerationOptions.ModelId"/> (or
/// <see cref="MediaGenImageGeneratorOptions.DefaultModel"/>); <see cref="ImageGenerationOptions.Count"/> to the output count;
/// <see cref="ImageGenerationOptions.ImageSize"/> to width and height; <see cref="ImageGenerationOptions.MediaType"/> to the
/// output format; the additional properties <see cref="OwnerIdProperty"/>, <see cref="IdempotencyKeyProperty"/>,
/// <see cref="SeedProperty"/>, <see cref="NegativePromptProperty"/> and <see cref="AspectRatioProperty"/> to their settings,
/// and any other additional property to a model parameter of that name (checked against the model's rules).</para>
/// <para>A job that fails throws <see cref="MediaGenerationJobException"/> with the job's error code; one canceled by
/// someone else throws <see cref="OperationCanceledException"/>. Editing images (<see cref="ImageGenerationRequest.OriginalImages"/>)
/// is not supported.</para>
/// </remarks>
[Experimental("MEAI001", UrlFormat = "https://aka.ms/dotnet-extensions-warnings/{0}")]
public sealed class MediaGenImageGenerator : IImageGenerator
{
    /// <summary>The additional property naming the owner the job is submitted for and charged to.</summary>
    public const string OwnerIdProperty = "owner_id";

    /// <summary>The additional property holding an idempotency key: the same key returns the same job, charged once.</summary>
    public const string IdempotencyKeyProperty = "idempotency_key";

    /// <summary>The additional property holding the seed.</summary>
    public const string SeedProperty = "seed";

    /// <summary>The additional property holding the negative prompt.</summary>
    public const string NegativePromptProperty = "negative_prompt";

    /// <summary>The additional property holding an aspect ratio such as <c>16:9</c> (instead of an image size).</summary>
    public const string AspectRatioProperty = "aspect_ratio";

    /// <summary>The additional property each returned content carries with its job's id.</summary>
    public const string JobIdProperty = "mediagen_job_id";

    private readonly IMediaGenerationClient _client;
    private readonly IJobEventStream _events;
    private readonly IMediaStorage _storage;
    private readonly MediaGenImageGeneratorOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ImageGeneratorMetadata _metadata;

    /// <summary>Creates the generator over MediaGen's client, event stream and storage.</summary>
    /// <param name="client">Submits, reads and cancels jobs.</param>
    /// <param name="events">Where the jobs' events are awaited.</param>
    /// <param name="storage">Where the outputs are read from.</param>
    /// <param name="options">The options.</param>
    /// <param name="timeProvider">The clock the status is polled on.</param>
    /// <param name="logger">The logger.</param>
    public MediaGenImageGenerator(
        IMediaGenerationClient client,
        IJobEventStream events,
        IMediaStorage storage,
        IOptions<MediaGenImageGeneratorOptions> options,
        TimeProvider timeProvider,
        ILogger<MediaGenImageGenerator> logger)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        _client = client;
        _events = events;
        _storage = storage;
        _options = options.Value;
        _time = timeProvider;
        _logger = logger;
        _metadata = new ImageGeneratorMetadata("mediagen", providerUri: null, _options.DefaultModel);
    }

    /// <inheritdoc />
    /// <exception cref="RequestValidationException">The request is invalid for its model, or names no model or owner.</exception>
    /// <exception cref="InsufficientCreditsException">The owner cannot pay for the images.</exception>
    /// <exception cref="MediaGenerationJobException">The job failed.</exception>
    /// <exception cref="NotSupportedException">The request asks to edit images.</exception>
    public async Task<ImageGenerationResponse> GenerateAsync(ImageGenerationRequest request, ImageGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.OriginalImages?.Any() == true)
        {
            throw new NotSupportedException("MediaGen generates images from a prompt; editing images is not supported.");
        }

        var generation = ToGenerationRequest(request, options);
        var submitted = await _client.SubmitAsync(generation, cancellationToken).ConfigureAwait(false);
        var job = submitted.Job;
        Log.FacadeSubmitted(_logger, job.Id, generation.Model);
        try
        {
            job = await WaitForTerminalAsync(job, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && _options.CancelJobWhenCallerCancels)
        {
            await CancelAsync(job).ConfigureAwait(false);
            throw;
        }

        return job.Status switch
        {
            JobStatus.Succeeded => await ToResponseAsync(job, options?.ResponseFormat ?? _options.DefaultResponseFormat, cancellationToken).ConfigureAwait(false),
            JobStatus.Canceled => throw new OperationCanceledException($"Job {job.Id} was canceled before it finished."),
            _ => throw new MediaGenerationJobException(job),
        };
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(ImageGeneratorMetadata) ? _metadata
            : serviceType == typeof(IMediaGenerationClient) ? _client
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        // Nothing to release: the client, event stream and storage belong to the container.
    }

    private GenerationRequest ToGenerationRequest(ImageGenerationRequest request, ImageGenerationOptions? options)
    {
        var model = options?.ModelId ?? _options.DefaultModel
            ?? throw new RequestValidationException("model", "Name the model in ImageGenerationOptions.ModelId, or set MediaGenImageGeneratorOptions.DefaultModel.");
        string? owner = null;
        string? idempotencyKey = null;
        long? seed = null;
        string? negative = null;
        string? aspectRatio = null;
        Dictionary<string, JsonElement>? parameters = null;
        foreach (var (key, value) in options?.AdditionalProperties ?? [])
        {
            switch (key)
            {
                case OwnerIdProperty:
                    owner = Convert.ToString(value, CultureInfo.InvariantCulture);
                    break;
                case IdempotencyKeyProperty:
                    idempotencyKey = Convert.ToString(value, CultureInfo.InvariantCulture);
                    break;
                case SeedProperty:
                    seed = ToSeed(value);
                    break;
                case NegativePromptProperty:
                    negative = Convert.ToString(value, CultureInfo.InvariantCulture);
                    break;
                case AspectRatioProperty:
                    aspectRatio = Convert.ToString(value, CultureInfo.InvariantCulture);
                    break;
                default:
                    parameters ??= new Dictionary<string, JsonElement>(StringComparer.Ordinal);
                    parameters[key] = ToJson(key, value);
                    break;
            }
        }

        // A size the model only takes as an aspect ratio (fixed sizes, as OpenAI's) is asked for by its ratio.
        int? width = options?.ImageSize?.Width;
        int? height = options?.ImageSize?.Height;
        if (options?.ImageSize is { Width: > 0, Height: > 0 } size && aspectRatio is null
            && _client.GetModels().FirstOrDefault(m => m.Id == model) is { Settings.SupportsDimensions: false } descriptor
            && ImageModelCatalog.AspectRatio(size) is var ratio && descriptor.Settings.AspectRatios.Contains(ratio, StringComparer.Ordinal))
        {
            (width, height, aspectRatio) = (null, null, ratio);
        }

        owner ??= _options.ResolveOwnerId?.Invoke(options) ?? _options.DefaultOwnerId;
        if (string.IsNullOrWhiteSpace(owner))
        {
            throw new RequestValidationException("ownerId", $"Name the owner in the '{OwnerIdProperty}' additional property, ResolveOwnerId or DefaultOwnerId.");
        }

        return new GenerationRequest
        {
            Prompt = request.Prompt ?? string.Empty,
            NegativePrompt = negative,
            Model = model,
            OwnerId = owner,
            IdempotencyKey = idempotencyKey,
            Parameters = parameters,
            Settings = new GenerationSettings
            {
                OutputCount = options?.Count,
                Width = width,
                Height = height,
                AspectRatio = aspectRatio,
                OutputFormat = options?.MediaType?.ToLowerInvariant() switch
                {
                    null => null,
                    "image/png" => OutputFormat.Png,
                    "image/jpeg" or "image/jpg" => OutputFormat.Jpeg,
                    "image/webp" => OutputFormat.Webp,
                    var other => throw new RequestValidationException("settings.outputFormat", $"Media type '{other}' is not one of image/png, image/jpeg or image/webp."),
                },
                Seed = seed,
            },
        };
    }

    private static long? ToSeed(object? value)
    {
        try
        {
            return value switch
            {
                null => null,
                JsonElement element => element.GetInt64(),
                _ => Convert.ToInt64(value, CultureInfo.InvariantCulture),
            };
        }
        catch (Exception e) when (e is FormatException or InvalidCastException or InvalidOperationException or OverflowException)
        {
            throw new RequestValidationException("settings.seed", $"The '{SeedProperty}' additional property must be a whole number.");
        }
    }

    private static JsonElement ToJson(string key, object? value) => value switch
    {
        JsonElement element => element,
        not null when FacadeJson.Default.GetTypeInfo(value.GetType()) is { } info => JsonSerializer.SerializeToElement(value, info),
        _ => throw new RequestValidationException($"parameters.{key}", $"The '{key}' additional property must be a string, a number, a boolean or a JsonElement."),
    };

    /// <summary>Waits until the job is terminal: reads it after each of its events, and at least every poll interval.</summary>
    private async Task<GenerationJob> WaitForTerminalAsync(GenerationJob job, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // Live before the job is read: an event published in between is not missed.
        var events = await _events.OpenSubscriptionAsync(job.Id, stop.Token).ConfigureAwait(false);
        Task<bool>? next = null;
        try
        {
            next = events.MoveNextAsync().AsTask();
            while (true)
            {
                job = await _client.GetAsync(job.OwnerId, job.Id, cancellationToken).ConfigureAwait(false);
                if (job.Status.IsTerminal())
                {
                    return job;
                }

                using var poll = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var tick = Task.Delay(_options.StatusPollInterval, _time, poll.Token);
                var first = await Task.WhenAny(next, tick).ConfigureAwait(false);
                await poll.CancelAsync().ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
                if (first == next)
                {
                    // An event, or the end of the stream (then only the poll is left to watch with).
                    next = await next.ConfigureAwait(false) ? events.MoveNextAsync().AsTask() : new TaskCompletionSource<bool>().Task;
                }
            }
        }
        finally
        {
            // End the pending read before unsubscribing.
            await stop.CancelAsync().ConfigureAwait(false);
            if (next is not null)
            {
                try
                {
                    await next.ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                }
            }

            await events.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task CancelAsync(GenerationJob job)
    {
        try
        {
            await _client.CancelAsync(job.OwnerId, job.Id, CancellationToken.None).ConfigureAwait(false);
            Log.FacadeCanceled(_logger, job.Id);
        }
        catch (InvalidJobTransitionException)
        {
            // It finished first.
        }
        catch (Exception e) when (e is MediaGenException or QueueUnavailableException)
        {
            Log.FacadeCancelFailed(_logger, e, job.Id);
        }
    }

    private async Task<ImageGenerationResponse> ToResponseAsync(GenerationJob job, ImageGenerationResponseFormat format, CancellationToken cancellationToken)
    {
        var contents = new List<AIContent>(job.Outputs.Count);
        foreach (var output in job.Outputs.OrderBy(o => o.Index))
        {
            AIContent content;
            if (format == ImageGenerationResponseFormat.Data)
            {
                content = new DataContent(await ReadAsync(output, cancellationToken).ConfigureAwait(false), output.ContentType);
            }
            else
            {
                var url = await _storage.GetReadUrlAsync(output.Key, _options.ReadUrlLifetime, cancellationToken).ConfigureAwait(false);
                content = new UriContent(url, output.ContentType);
            }

            content.AdditionalProperties = new AdditionalPropertiesDictionary { [JobIdProperty] = job.Id, ["output_index"] = output.Index };
            contents.Add(content);
        }

        return new ImageGenerationResponse(contents) { RawRepresentation = job };
    }

    private async Task<byte[]> ReadAsync(JobOutput output, CancellationToken cancellationToken)
    {
        if (output.Size > _options.MaxDataBytes)
        {
            throw new InvalidOperationException($"Output {output.Key} is {output.Size} bytes; MaxDataBytes allows {_options.MaxDataBytes}. Ask for URIs instead.");
        }

        var stream = await _storage.OpenReadAsync(output.Key, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var buffer = new MemoryStream(output.Size > 0 ? (int)output.Size : 0);
            await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
            return buffer.ToArray();
        }
    }
}

/// <summary>A MediaGen job behind a <see cref="MediaGenImageGenerator"/> call failed; <see cref="MediaGenException.ErrorCode"/> is the job's.</summary>
public sealed class MediaGenerationJobException : GenerationException
{
    /// <summary>Creates the exception from the failed job.</summary>
    /// <param name="job">The job.</param>
    public MediaGenerationJobException(GenerationJob job)
        : base(
            (job ?? throw new ArgumentNullException(nameof(job))).Error?.Code ?? MediaGenErrorCodes.InternalError,
            $"Job {job.Id} failed: {job.Error?.Message ?? "no error was recorded"}",
            isTransient: false)
    {
        JobId = job.Id;
    }

    /// <summary>The job that failed.</summary>
    public string JobId { get; }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
[System.Text.Json.Serialization.JsonSerializable(typeof(bool))]
[System.Text.Json.Serialization.JsonSerializable(typeof(int))]
[System.Text.Json.Serialization.JsonSerializable(typeof(long))]
[System.Text.Json.Serialization.JsonSerializable(typeof(double))]
[System.Text.Json.Serialization.JsonSerializable(typeof(float))]
[System.Text.Json.Serialization.JsonSerializable(typeof(decimal))]
internal sealed partial class FacadeJson : System.Text.Json.Serialization.JsonSerializerContext;
