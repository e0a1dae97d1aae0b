namespace MediaGen.Core.Tests;

/// <summary>A generator whose behaviour each test scripts with a delegate; counts its calls.</summary>
internal sealed class ScriptedGenerator(string name, Func<GenerationContext, CancellationToken, ValueTask<GenerationResult>> run, long cost = 5) : IMediaGenerator
{
    private int _calls;
    private readonly List<(GenerationContext Context, CancellationToken Token)> _inFlight = [];

    public string Name { get; } = name;

    public IReadOnlyList<ModelDescriptor> Models { get; } =
    [
        new ModelDescriptor { Id = name + "-model", CostCredits = cost, ExpectedDuration = TimeSpan.FromSeconds(1) },
    ];

    public string ModelId => Models[0].Id;

    public int Calls => Volatile.Read(ref _calls);

    /// <summary>
    /// How many calls have run the script up to a wait (they returned an unfinished task), have not ended, and have not
    /// been told to stop: the ones waiting on something. A call still running its script's first steps does not count.
    /// </summary>
    public int Waiting
    {
        get
        {
            lock (_inFlight)
            {
                return _inFlight.Count(c => !c.Token.IsCancellationRequested && !c.Context.JobAborted.IsCancellationRequested);
            }
        }
    }

    /// <summary>
    /// Called when a call has run the script up to its first wait, and again when it ends, so a test can wait on the
    /// calls without polling.
    /// </summary>
    public Action? Called { get; set; }

    public ValueTask<GenerationResult> GenerateAsync(GenerationContext context, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _calls);
        ValueTask<GenerationResult> call;
        try
        {
            call = run(context, cancellationToken);
        }
        catch
        {
            Called?.Invoke();
            throw;
        }

        if (call.IsCompleted)
        {
            Called?.Invoke();
            return call;
        }

        var entry = (context, cancellationToken);
        lock (_inFlight)
        {
            _inFlight.Add(entry);
        }

        Called?.Invoke();
        return EndAsync(call, entry);
    }

    /// <summary>A generator named <c>blocking</c> whose every attempt waits for <paramref name="release"/>, then makes one output.</summary>
    public static ScriptedGenerator Blocking(TaskCompletionSource release) => new("blocking", async (ctx, ct) =>
    {
        await release.Task.WaitAsync(ct);
        return TextOutputs("ok");
    });

    private async ValueTask<GenerationResult> EndAsync(ValueTask<GenerationResult> call, (GenerationContext, CancellationToken) entry)
    {
        try
        {
            return await call;
        }
        finally
        {
            Ended(entry);
        }
    }

    private void Ended((GenerationContext, CancellationToken) entry)
    {
        lock (_inFlight)
        {
            _inFlight.Remove(entry);
        }

        Called?.Invoke();
    }

    public static GenerationResult TextOutputs(params string[] contents) =>
        new(contents.Select(c => GeneratedOutput.FromBytes("image/png", Encoding.UTF8.GetBytes(c))).ToArray());
}
