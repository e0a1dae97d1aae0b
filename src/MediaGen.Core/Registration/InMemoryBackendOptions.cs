using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using MediaGen.Shared;

namespace MediaGen;

/// <summary>Options for the in-memory job store and credit ledger.</summary>
public sealed class InMemoryBackendOptions
{
    /// <summary>
    /// How long a finished job stays in the in-memory job store, and its settled reservation in the in-memory ledger,
    /// before every trace of it (the job, its owner and status indexes, its idempotency key, the reservation) is removed,
    /// so a long-running process holds a bounded number of jobs. Null keeps them for the life of the process.
    /// </summary>
    /// <value>The default value is 1 day.</value>
    [TimeSpanRange("00:00:00", "365.00:00:00")]
    public TimeSpan? FinishedJobRetention { get; set; } = TimeSpan.FromDays(1);
}

/// <summary>Validates <see cref="InMemoryBackendOptions"/> at start-up.</summary>
[OptionsValidator]
internal sealed partial class InMemoryBackendOptionsValidator : IValidateOptions<InMemoryBackendOptions>
{
}
