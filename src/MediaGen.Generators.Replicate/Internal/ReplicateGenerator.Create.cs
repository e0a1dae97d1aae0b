using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

namespace MediaGen.Generators.Replicate.Internal;

/// <summary>
/// Creating a prediction at most once. Replicate takes no idempotency key, so right before a create is sent the job's
/// checkpoint records that one is in flight, and after a create whose outcome is unknown (or an attempt that finds that record) the
/// prediction is looked up among the recent ones by its exact input before another is created.
/// </summary>
internal sealed partial class ReplicateGenerator
{
    /// <summary>How far Replicate's clock may be from this one when a look-up bounds predictions by creation time.</summary>
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Creates the prediction and saves its id. A create whose outcome is unknown is looked up; when the look-up finds
    /// nothing, <see cref="ReplicateGeneratorOptions.UnconfirmedCreate"/> decides between creating again (up to
    /// <see cref="HttpGeneratorOptions.MaxRequestRetries"/> times in this attempt) and failing the job.
    /// </summary>
    private async Task<ReplicatePrediction> CreateAsync(ReplicateModel model, JsonObject input, GenerationContext context, CreateRun run, CancellationToken cancellationToken)
    {
        for (var tries = 0; ; tries++)
        {
            // The mark and the look-up window start right before each send, after any wait at the rate gate: a create
            // held there by a provider pause (or sent again after a 429) leaves later than this attempt asked for it.
            DateTimeOffset? sentAt = null;
            async ValueTask MarkSendingAsync(CancellationToken token)
            {
                var now = TimeProvider.GetUtcNow();
                await context.Checkpoint.SaveAsync(ReplicateCheckpoint.Creating(now), token).ConfigureAwait(false);
                sentAt = now;
            }

            ReplicatePrediction prediction;
            try
            {
                prediction = await SendCreateAsync(model, input, CancelAfter(context.Job), MarkSendingAsync, context.JobAborted, cancellationToken).ConfigureAwait(false);
            }
            catch (GenerationException e) when (e.ErrorCode == MediaGenErrorCodes.OutcomeUnknown && tries < _options.MaxRequestRetries)
            {
                // The prediction, if any, was created between the send and the failure.
                var failedAt = TimeProvider.GetUtcNow();
                var startedAt = sentAt ?? failedAt;
                Log.CreateUnconfirmed(Logger, context.Job.Id, model.Id, _options.UnconfirmedCreateLookupDelay);
                await Task.Delay(_options.UnconfirmedCreateLookupDelay, TimeProvider, cancellationToken).ConfigureAwait(false);
                if (await FindCreatedAsync(model, input, startedAt, failedAt, context, run, cancellationToken).ConfigureAwait(false) is { } found)
                {
                    return found;
                }

                _ = UnconfirmedCreateNotFound(context, startedAt);
                continue;
            }

            run.PredictionId = prediction.Id;
            Log.PredictionCreated(Logger, prediction.Id, context.Job.Id, model.Id);
            await SaveCreatedAsync(prediction, context).ConfigureAwait(false);
            return prediction;
        }
    }

    /// <summary>
    /// Saves a prediction's id on the job; one that cannot be saved is canceled, since no later attempt could find it.
    /// The save does not take the attempt's token: a create that answers after the job was aborted (the call is let
    /// finish for that) has its id saved all the same, within <see cref="ReplicateGeneratorOptions.CancelTimeout"/>, and
    /// the caller then cancels the prediction.
    /// </summary>
    private async Task SaveCreatedAsync(ReplicatePrediction prediction, GenerationContext context)
    {
        using var timeout = new CancellationTokenSource(_options.CancelTimeout, TimeProvider);
        try
        {
            await context.Checkpoint.SaveAsync(prediction.Id, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The job store refused the checkpoint: the prediction would run (and be billed) for nothing while the retry
            // pays for a new one. Stop it now. A save that timed out is left alone: the write may have landed, and a
            // later attempt may resume the prediction (an aborted job's is canceled by the caller, which knows its id).
            await CancelPredictionAsync(prediction.Id, context.Job.Id).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Looks for a prediction created for this job by a create sent at <paramref name="startedAt"/> and seen to fail (or
    /// known to have ended) by <paramref name="endedBy"/>: among the predictions created from a minute before the one to
    /// a minute after the other, the newest whose model and input are exactly those sent (the newest, should a lost
    /// create and its retry both have made one). A match is saved on the job and returned.
    /// </summary>
    /// <remarks>
    /// A match is adopted only when it can be this attempt's: not an id the job already had, and not canceled, aborted
    /// or interrupted (an earlier attempt's, or nothing that runs). When the input is not the run's own (the request set
    /// its seed, or the model takes none), another job with the same prompt and settings sends the same input: a live
    /// match could be that job's, and adopting it would make one job's cancel stop the other's prediction, so the job
    /// fails with <see cref="MediaGenErrorCodes.OutcomeUnknown"/> instead. No match at all proves no prediction was made.
    /// </remarks>
    private async Task<ReplicatePrediction?> FindCreatedAsync(
        ReplicateModel model, JsonObject input, DateTimeOffset startedAt, DateTimeOffset endedBy, GenerationContext context, CreateRun run, CancellationToken cancellationToken)
    {
        ReplicatePrediction? found = null;
        var listed = _api.ListAsync(startedAt - ClockSkew, endedBy + ClockSkew, cancellationToken);
        await foreach (var prediction in listed.ConfigureAwait(false))
        {
            if (!IsSameModel(prediction, model) || !JsonEquals(input, prediction.Input))
            {
                continue;
            }

            if (run.Known.Contains(prediction.Id) || NotResumable(prediction, canceled: true) is not null)
            {
                Log.PredictionNotResumable(Logger, prediction.Id, context.Job.Id, $"listed with this job's input but not adoptable ({prediction.Status})");
                continue;
            }

            found = prediction;
            break;
        }

        if (found is null)
        {
            return null;
        }

        if (!run.InputIsTheRunsOwn)
        {
            throw new GenerationException(
                MediaGenErrorCodes.OutcomeUnknown,
                $"A Replicate create sent at {startedAt:O} may or may not have made a prediction, and prediction '{found.Id}' has the same input, "
                + "but the input is not unique to this job (the request sets its own seed, or the model takes none), so it may be another job's; "
                + "the job fails rather than take it over or pay for a second one.",
                isTransient: false);
        }

        Log.PredictionFound(Logger, found.Id, context.Job.Id);
        run.PredictionId = found.Id;
        await SaveCreatedAsync(found, context).ConfigureAwait(false);
        return found;
    }

    /// <summary>
    /// After a look-up found nothing: null (create anew) when <see cref="ReplicateGeneratorOptions.UnconfirmedCreate"/>
    /// allows it; otherwise the job fails with <see cref="MediaGenErrorCodes.OutcomeUnknown"/>.
    /// </summary>
    private ReplicatePrediction? UnconfirmedCreateNotFound(GenerationContext context, DateTimeOffset startedAt)
    {
        if (_options.UnconfirmedCreate == ReplicateRecreatePolicy.CreateNew)
        {
            Log.UnconfirmedCreateNotFound(Logger, context.Job.Id, startedAt);
            return null;
        }

        throw new GenerationException(
            MediaGenErrorCodes.OutcomeUnknown,
            $"A Replicate create sent at {startedAt:O} may or may not have made a prediction, and none with this job's input is listed; "
            + "the job fails rather than pay for a second one (MediaGen:Generators:Replicate:UnconfirmedCreate is Fail).",
            isTransient: false);
    }

    /// <summary>Whether a resumed prediction's outputs are gone: Replicate says so, or it completed longer ago than it keeps them.</summary>
    private bool IsExpired(ReplicatePrediction prediction) =>
        prediction.Status == ReplicatePrediction.Succeeded
        && (prediction.DataRemoved || (prediction.CompletedAt is { } completed && TimeProvider.GetUtcNow() - completed >= _options.OutputRetention));

    /// <summary>
    /// A resumed prediction whose outputs are gone: null (create anew) when <see cref="ReplicateGeneratorOptions.ExpiredPrediction"/>
    /// allows it; otherwise the job fails with <see cref="MediaGenErrorCodes.ProviderOutputExpired"/>.
    /// </summary>
    private ReplicatePrediction? OutputsExpired(ReplicatePrediction prediction, GenerationContext context)
    {
        if (_options.ExpiredPrediction == ReplicateRecreatePolicy.CreateNew)
        {
            Log.PredictionNotResumable(Logger, prediction.Id, context.Job.Id, "its outputs were deleted");
            return null;
        }

        Log.PredictionFailed(Logger, prediction.Id, context.Job.Id, prediction.Status, MediaGenErrorCodes.ProviderOutputExpired);
        throw GenerationException.Permanent(
            $"Replicate prediction '{prediction.Id}' succeeded{(prediction.CompletedAt is { } at ? $" at {at:O}" : string.Empty)}, but Replicate deleted its outputs "
            + "before they were stored; set MediaGen:Generators:Replicate:ExpiredPrediction to CreateNew to pay for a new one instead.",
            MediaGenErrorCodes.ProviderOutputExpired);
    }

    /// <summary>The <c>Cancel-After</c> of a create: the job's remaining time until its deadline, so an orphan stops with the job.</summary>
    private TimeSpan? CancelAfter(GenerationJob job) => job.Deadline is { } deadline ? deadline - TimeProvider.GetUtcNow() : null;

    /// <summary>
    /// Sends a seed derived from the job id and run when the request sets none and the model takes one, so two jobs (or
    /// two runs of one job) with the same prompt and settings never send the same input, and a look-up after a lost
    /// create finds this run's prediction only. The first run's seed derives from the job id alone.
    /// </summary>
    internal static JsonObject WithJobSeed(JsonObject input, ReplicateModel model, string jobId, int run = 1)
    {
        TryAddRunSeed(input, model, jobId, run);
        return input;
    }

    /// <summary>Adds the run's seed (<see cref="WithJobSeed"/>); false when the request set its own or the model takes none.</summary>
    private static bool TryAddRunSeed(JsonObject input, ReplicateModel model, string jobId, int run)
    {
        if (!model.Descriptor.Settings.SupportsSeed || input.ContainsKey("seed"))
        {
            return false;
        }

        var key = run <= 1 ? jobId : string.Create(CultureInfo.InvariantCulture, $"{jobId}/run/{run}");
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(key));
        input["seed"] = BitConverter.ToInt32(hash, 0) & int.MaxValue;
        return true;
    }

    private static bool IsSameModel(ReplicatePrediction prediction, ReplicateModel model) =>
        model.Version is { } version
            ? string.Equals(prediction.Version, version, StringComparison.OrdinalIgnoreCase)
            : string.Equals(prediction.Model, $"{model.Owner}/{model.Name}", StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether the input Replicate lists is the one sent: the same properties and values, numbers by value.</summary>
    internal static bool JsonEquals(JsonNode? sent, JsonElement listed)
    {
        switch (sent)
        {
            case null:
                return listed.ValueKind == JsonValueKind.Null;
            case JsonObject obj:
                if (listed.ValueKind != JsonValueKind.Object || obj.Count != listed.EnumerateObject().Count())
                {
                    return false;
                }

                foreach (var (name, value) in obj)
                {
                    if (!listed.TryGetProperty(name, out var other) || !JsonEquals(value, other))
                    {
                        return false;
                    }
                }

                return true;
            case JsonArray array:
                return listed.ValueKind == JsonValueKind.Array
                    && array.Count == listed.GetArrayLength()
                    && array.Zip(listed.EnumerateArray()).All(p => JsonEquals(p.First, p.Second));
            default:
                using (var document = JsonDocument.Parse(sent.ToJsonString()))
                {
                    var element = document.RootElement;
                    return element.ValueKind switch
                    {
                        JsonValueKind.Number => listed.ValueKind == JsonValueKind.Number
                            && (element.TryGetDecimal(out var a) && listed.TryGetDecimal(out var b) ? a == b : element.GetDouble().Equals(listed.GetDouble())),
                        JsonValueKind.String => listed.ValueKind == JsonValueKind.String && string.Equals(element.GetString(), listed.GetString(), StringComparison.Ordinal),
                        _ => element.ValueKind == listed.ValueKind,
                    };
                }
        }
    }
}
