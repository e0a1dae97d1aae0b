namespace MediaGen.Core.Tests.FaultInjection;

/// <summary>The process died at an effect point. Nothing the dead process does afterwards reaches the backend.</summary>
public sealed class CrashException(string message) : Exception(message);

/// <summary>
/// Where a run's processes crash. Every effect a process applies to the backend or the provider (a job write, a
/// reservation, an enqueue, a lease settlement, an event, a commit, an output save, a provider create, a checkpoint)
/// is counted in order; the plan crashes the process just before or just after the effects it names. Once crashed,
/// every later call of that process fails, as a dead process's would, until <see cref="Restart"/> starts a new one.
/// </summary>
public sealed class FaultPlan
{
    private readonly SortedSet<int> _crashBefore;
    private readonly SortedSet<int> _crashAfter;
    private readonly Lock _gate = new();
    private int _generation;

    public FaultPlan(IEnumerable<int>? crashBefore = null, IEnumerable<int>? crashAfter = null)
    {
        _crashBefore = new SortedSet<int>(crashBefore ?? []);
        _crashAfter = new SortedSet<int>(crashAfter ?? []);
    }

    /// <summary>Effects applied so far, by every process of the run.</summary>
    public int Effects { get; private set; }

    /// <summary>What each effect was, in order (for a failure message).</summary>
    public List<string> Trace { get; } = [];

    /// <summary>Whether the current process has crashed.</summary>
    public bool Crashed { get; private set; }

    /// <summary>How many crashes happened.</summary>
    public int Crashes { get; private set; }

    /// <summary>The process generation; a wrapper made for an earlier generation is dead for good.</summary>
    public int Generation => _generation;

    /// <summary>Starts a new process after a crash.</summary>
    public void Restart()
    {
        lock (_gate)
        {
            Crashed = false;
            _generation++;
        }
    }

    /// <summary>Fails when the process of <paramref name="generation"/> is no longer alive (a read counts too).</summary>
    public void EnsureAlive(int generation)
    {
        lock (_gate)
        {
            if (Crashed || generation != _generation)
            {
                throw new CrashException("The process is dead.");
            }
        }
    }

    /// <summary>Runs one effect of the process of <paramref name="generation"/>, crashing before or after it as planned.</summary>
    public async ValueTask<T> EffectAsync<T>(int generation, string what, Func<ValueTask<T>> effect)
    {
        int index;
        lock (_gate)
        {
            if (Crashed || generation != _generation)
            {
                throw new CrashException("The process is dead.");
            }

            index = Effects++;
            Trace.Add(what);
            if (_crashBefore.Contains(index))
            {
                Crash(index, what, "before");
            }
        }

        var result = await effect();
        lock (_gate)
        {
            if (_crashAfter.Contains(index))
            {
                Crash(index, what, "after");
            }
        }

        return result;
    }

    public async ValueTask EffectAsync(int generation, string what, Func<ValueTask> effect) =>
        await EffectAsync(generation, what, async () =>
        {
            await effect();
            return true;
        });

    private void Crash(int index, string what, string when)
    {
        Crashed = true;
        Crashes++;
        throw new CrashException($"Crashed {when} effect {index} ({what}).");
    }
}
