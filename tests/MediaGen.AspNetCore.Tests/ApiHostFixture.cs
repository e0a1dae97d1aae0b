namespace MediaGen.AspNetCore.Tests;

/// <summary>One host with a worker for a test class; each test uses owners of its own.</summary>
public sealed class ApiHostFixture : IAsyncLifetime
{
    public TestApiHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await TestApiHost.StartAsync();

    public async Task DisposeAsync() => await Host.DisposeAsync();
}

/// <summary>One host without a worker (jobs stay pending) and with a pending limit of 3 per owner.</summary>
public sealed class PendingHostFixture : IAsyncLifetime
{
    public TestApiHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await TestApiHost.StartAsync(worker: false, mediaGen: o => o.MaxPendingJobsPerOwner = 3);

    public async Task DisposeAsync() => await Host.DisposeAsync();
}
