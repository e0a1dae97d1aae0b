using MediaGen;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

// Everything in one process on the in-memory defaults, with the procedural generator (no account needed), configured
// from sections as a host reading appsettings.json would be: the section overloads bind through the configuration
// binding source generator, the options validators through the options validation source generator.
var builder = Host.CreateApplicationBuilder(args);
builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
{
    ["Logging:LogLevel:Default"] = "Warning",
    ["MediaGen:MaxAttempts"] = "3",
    ["MediaGen:JobDeadline"] = "00:05:00",
    ["MediaGen:Procedural:SimulatedDuration"] = "00:00:00.050",
    ["MediaGen:Procedural:ProgressSteps"] = "2",
    ["MediaGen:Worker:Concurrency"] = "1",
});

var mediaGen = builder.Configuration.GetSection("MediaGen");
builder.Services.AddMediaGeneration(mediaGen)
    .ConfigureCredits(o => o.InitialBalance = 10)
    .AddProceduralGenerator(mediaGen.GetSection("Procedural"))
    .AddWorker(mediaGen.GetSection("Worker"));

using var host = builder.Build();
await host.StartAsync().ConfigureAwait(false);
using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
var client = host.Services.GetRequiredService<IMediaGenerationClient>();
var submitted = await client.SubmitAsync(
    new GenerationRequest { Prompt = "a lighthouse at dusk", Model = "procedural", OwnerId = "aot-consumer" },
    timeout.Token).ConfigureAwait(false);

// Poll its status, as a client of the API would, until it finishes (or the minute is up).
var job = submitted.Job;
while (job.Status is JobStatus.Pending or JobStatus.Processing)
{
    await Task.Delay(TimeSpan.FromMilliseconds(50), timeout.Token).ConfigureAwait(false);
    job = await client.GetAsync(job.OwnerId, job.Id, timeout.Token).ConfigureAwait(false);
}

await host.StopAsync(CancellationToken.None).ConfigureAwait(false);
Console.WriteLine($"job {job.Id}: {job.Status}, {job.Outputs.Count} output(s), {job.Outputs.Sum(o => o.Size)} bytes");
return job.Status == JobStatus.Succeeded && job.Outputs.Count == 1 ? 0 : 1;
