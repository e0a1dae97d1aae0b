using Microsoft.Extensions.Time.Testing;

namespace MediaGen.Testing;

/// <summary>
/// What every compliance suite shares: a fake clock, disposal of what a test created, and bounded real-time
/// waits that fail a test instead of hanging it.
/// </summary>
public abstract class ComplianceTestBase : IAsyncLifetime
{
    /// <summary>The instant every suite's <see cref="Time"/> starts at: 2026-01-01T00:00:00Z.</summary>
    public static readonly DateTimeOffset StartTime = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly List<object> _created = [];

    /// <summary>The clock the implementation under test reads.</summary>
    protected FakeTimeProvider Time { get; } = new(StartTime);

    /// <summary>
    /// The longest real time a single wait may take before the test fails. Generous, because a real server and a
    /// busy build machine can both be slow; a correct implementation answers in milliseconds.
    /// </summary>
    protected virtual TimeSpan RealTimeout => TimeSpan.FromSeconds(10);

    /// <inheritdoc />
    public virtual Task InitializeAsync() => Task.CompletedTask;

    /// <inheritdoc />
    public virtual async Task DisposeAsync()
    {
        for (var i = _created.Count - 1; i >= 0; i--)
        {
            await Disposal.DisposeAsync(_created[i]);
        }

        _created.Clear();
    }

    /// <summary>Remembers <paramref name="instance"/> so it is disposed after the test (once, however often it is tracked).</summary>
    /// <typeparam name="T">The instance's type.</typeparam>
    /// <param name="instance">What the test created.</param>
    /// <returns><paramref name="instance"/>.</returns>
    protected T Track<T>(T instance)
        where T : class
    {
        if (!_created.Any(o => ReferenceEquals(o, instance)))
        {
            _created.Add(instance);
        }

        return instance;
    }

    /// <summary>Awaits <paramref name="task"/>, failing the test when it takes longer than <see cref="RealTimeout"/> of real time.</summary>
    /// <typeparam name="T">The result type.</typeparam>
    /// <param name="task">The operation.</param>
    /// <param name="what">What is awaited, for the failure message.</param>
    /// <returns>The result.</returns>
    protected async Task<T> WithinAsync<T>(Task<T> task, string what)
    {
        try
        {
            return await task.WaitAsync(RealTimeout);
        }
        catch (TimeoutException)
        {
            throw new XunitException($"{what} did not complete within {RealTimeout.TotalSeconds:0} s of real time.");
        }
    }

    /// <summary>Awaits <paramref name="task"/>, failing the test when it takes longer than <see cref="RealTimeout"/> of real time.</summary>
    /// <param name="task">The operation.</param>
    /// <param name="what">What is awaited, for the failure message.</param>
    /// <returns>A task that completes with <paramref name="task"/>.</returns>
    protected async Task WithinAsync(Task task, string what)
    {
        try
        {
            await task.WaitAsync(RealTimeout);
        }
        catch (TimeoutException)
        {
            throw new XunitException($"{what} did not complete within {RealTimeout.TotalSeconds:0} s of real time.");
        }
    }

    /// <summary>A new job id in the documented shape: 32 lowercase hex characters.</summary>
    /// <returns>The id.</returns>
    protected static string NewJobId() => Guid.NewGuid().ToString("N");
}
