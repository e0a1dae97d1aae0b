using System.Globalization;

namespace MediaGen.Internal;

/// <summary>
/// This process's worker id (host name, process id and a random suffix, so a restarted process is a new worker), and
/// the holder ids its attempts write on the jobs they run.
/// </summary>
internal sealed class WorkerIdentity
{
    private long _attempts;

    public WorkerIdentity()
    {
        Id = string.Create(CultureInfo.InvariantCulture, $"{Environment.MachineName}:{Environment.ProcessId}:{Random.Shared.Next():x8}");
    }

    /// <summary>The worker's id.</summary>
    public string Id { get; }

    /// <summary>A holder id no other attempt, in this process or another, has used.</summary>
    public string NewHolder() => string.Create(CultureInfo.InvariantCulture, $"{Id}/{Interlocked.Increment(ref _attempts)}");
}
