using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Polly;
using MediaGen.Shared;

namespace MediaGen;

/// <summary>Options for the worker added by <c>AddWorker</c>.</summary>
public sealed class MediaGenerationWorkerOptions
{
    /// <summary>How many jobs one worker process runs at once.</summary>
    /// <value>The default value is 16.</value>
    [Range(1, 100_000)]
    public int Concurrency { get; set; } = 16;

    /// <summary>The longest one attempt may run before its generator is canceled and the attempt retried.</summary>
    /// <value>The default value is 10 minutes.</value>
    [TimeSpanRange("00:00:00.001", "1.00:00:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How often a running job's lease is renewed; null renews at half the lease duration the queue reports.</summary>
    /// <value>The default value is null.</value>
    public TimeSpan? LeaseRenewalInterval { get; set; }

    /// <summary>How long running jobs may keep going after shutdown starts; jobs still running then are returned to the queue.</summary>
    /// <value>The default value is 20 seconds. Keep it below the host's shutdown timeout.</value>
    [TimeSpanRange("00:00:00", "01:00:00")]
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>How long one receive waits for a message before the worker looks again.</summary>
    /// <value>The default value is 5 seconds.</value>
    [TimeSpanRange("00:00:00.001", "00:10:00")]
    public TimeSpan ReceiveWait { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Deliveries after which a message is dead-lettered without running, so a job that crashes its worker every
    /// time cannot loop forever. Deliveries the worker hands back on purpose are not counted: those that wait out a
    /// provider's pause or another delivery's live lease on the job, and those given back on shutdown
    /// (<see cref="IQueueLease.DeferAsync"/>).
    /// </summary>
    /// <value>The default value is 10.</value>
    [Range(1, 1000)]
    public int MaxDeliveryCount { get; set; } = 10;

    /// <summary>The backoff between attempts after a transient failure.</summary>
    [ValidateObjectMembers]
    public JobRetryBackoffOptions Retry { get; set; } = new();

    /// <summary>The least time between two progress writes for the same job.</summary>
    /// <value>The default value is 250 milliseconds.</value>
    [TimeSpanRange("00:00:00", "00:01:00")]
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How often the sweeper looks for pending jobs whose message was lost; <see cref="TimeSpan.Zero"/> turns it off.</summary>
    /// <value>The default value is 1 minute.</value>
    [TimeSpanRange("00:00:00", "1.00:00:00")]
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a job may sit in Pending (past its scheduled retry time) before the sweeper enqueues it again.</summary>
    /// <value>The default value is 5 minutes.</value>
    [TimeSpanRange("00:00:01", "1.00:00:00")]
    public TimeSpan StalePendingAfter { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How often the worker records its heartbeat in the <see cref="IWorkerRegistry"/> (the dashboard's workers panel); it
    /// is taken for dead after three intervals without one.
    /// </summary>
    /// <value>The default value is 10 seconds.</value>
    [TimeSpanRange("00:00:00.010", "01:00:00")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>Backoff between a job's attempts; the shape of Polly's <c>RetryStrategyOptions</c>, applied across queue deliveries.</summary>
public sealed class JobRetryBackoffOptions
{
    /// <summary>The backoff shape.</summary>
    /// <value>The default value is <see cref="DelayBackoffType.Exponential"/>.</value>
    public DelayBackoffType BackoffType { get; set; } = DelayBackoffType.Exponential;

    /// <summary>The delay before the second attempt; later ones grow with <see cref="BackoffType"/>.</summary>
    /// <value>The default value is 2 seconds.</value>
    [TimeSpanRange("00:00:00", "1.00:00:00")]
    public TimeSpan Delay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The longest delay.</summary>
    /// <value>The default value is 5 minutes.</value>
    [TimeSpanRange("00:00:00", "1.00:00:00")]
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Whether delays are randomized so retries of many jobs spread out: each is a uniformly random point in the upper half of the delay.</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool UseJitter { get; set; } = true;
}

/// <summary>Validates <see cref="MediaGenerationWorkerOptions"/> at start-up.</summary>
[OptionsValidator]
internal sealed partial class MediaGenerationWorkerOptionsValidator : IValidateOptions<MediaGenerationWorkerOptions>
{
}
