namespace MediaGen;

/// <summary>The replaceable parts of MediaGen; each has exactly one implementation at a time.</summary>
public enum MediaGenerationSeam
{
    /// <summary>The <see cref="IJobQueue"/>.</summary>
    Queue = 0,

    /// <summary>The <see cref="IJobStore"/>.</summary>
    JobStore = 1,

    /// <summary>The <see cref="ICreditLedger"/>.</summary>
    CreditLedger = 2,

    /// <summary>The <see cref="IJobEventStream"/>.</summary>
    EventStream = 3,

    /// <summary>The <see cref="IMediaStorage"/>.</summary>
    Storage = 4,

    /// <summary>The <see cref="IProviderPauseStore"/>.</summary>
    ProviderPauseStore = 5,

    /// <summary>The <see cref="IJobCancelSignal"/>.</summary>
    CancelSignal = 6,

    /// <summary>The <see cref="IWorkerRegistry"/>.</summary>
    WorkerRegistry = 7,

    /// <summary>The <see cref="IResultCacheIndex"/>.</summary>
    ResultCacheIndex = 8,

    /// <summary>The <see cref="IWebhookOutbox"/>.</summary>
    WebhookOutbox = 9,
}
