namespace MediaGen;

/// <summary>Relative urgency of a job in its queue. Higher priorities are received first; equal priorities are FIFO.</summary>
public enum JobPriority
{
    /// <summary>Received only when no normal or high priority job is ready.</summary>
    Low = 0,

    /// <summary>The default.</summary>
    Normal = 1,

    /// <summary>Received before any normal or low priority job that is ready.</summary>
    High = 2,
}
