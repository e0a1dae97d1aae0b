using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using MediaGen.Shared;

namespace MediaGen;

/// <summary>Options for the in-memory queue.</summary>
public sealed class InMemoryJobQueueOptions
{
    /// <summary>How long a received message stays invisible before it is delivered again, unless its lease is renewed or settled.</summary>
    /// <value>The default value is 30 seconds.</value>
    [TimeSpanRange("00:00:00.010", "1.00:00:00")]
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>Validates <see cref="InMemoryJobQueueOptions"/> at start-up.</summary>
[OptionsValidator]
internal sealed partial class InMemoryJobQueueOptionsValidator : IValidateOptions<InMemoryJobQueueOptions>
{
}
