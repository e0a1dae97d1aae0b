using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using MediaGen.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace MediaGen.Core.Tests.Webhooks;

/// <summary>Webhooks posted to a real HTTP listener on loopback.</summary>
public sealed class WebhookDispatcherTests : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly string _url;
    private readonly string _root = Path.Combine(Path.GetTempPath(), "mediagen-tests", Guid.NewGuid().ToString("N"));

    public WebhookDispatcherTests()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        _url = $"http://127.0.0.1:{port}/hooks/";
        _listener.Prefixes.Add(_url);
        _listener.Start();
    }

    public void Dispose()
    {
        _listener.Close();
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public async Task JobWithWebhook_Succeeds_SignedNotificationPostedAfterA500()
    {
        var generator = new ScriptedGenerator("hook", (_, _) => ValueTask.FromResult(ScriptedGenerator.TextOutputs("png")));
        using var host = Host.CreateDefaultBuilder().ConfigureServices(s => s
            .AddMediaGeneration()
            .UseFileSystemStorage(o => o.RootPath = _root)
            .ConfigureCredits(o => o.InitialBalance = 10)
            .ConfigureWebhooks(o => { o.SigningSecret = "s3cret"; o.RetryDelay = TimeSpan.Zero; })
            .AddGenerator(generator)
            .AddWorker()).Build();
        await host.StartAsync();
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();

        var submitted = await client.SubmitAsync(new GenerationRequest
        {
            Prompt = "p",
            Model = generator.ModelId,
            OwnerId = "o",
            WebhookUrl = new Uri(_url + "done"),
        });

        var first = await ReceiveAsync(HttpStatusCode.InternalServerError);
        var second = await ReceiveAsync(HttpStatusCode.NoContent);

        Assert.Equal(first.Body, second.Body);
        Assert.Equal("job.succeeded", second.Headers["MediaGen-Event"]);
        using var document = JsonDocument.Parse(second.Body);
        Assert.Equal(submitted.Job.Id, document.RootElement.GetProperty("job").GetProperty("id").GetString());
        Assert.Equal("succeeded", document.RootElement.GetProperty("job").GetProperty("status").GetString());
        Assert.Equal($"{submitted.Job.Id}/0.png", document.RootElement.GetProperty("job").GetProperty("outputs")[0].GetProperty("key").GetString());
        Assert.Equal(0, document.RootElement.GetProperty("job").GetProperty("failedOutputs").GetArrayLength());

        var signature = second.Headers[WebhookDispatcher.SignatureHeader]!;
        var t = long.Parse(signature.Split(',')[0]["t=".Length..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(WebhookDispatcher.Sign("s3cret", t, second.Body), signature);
        Assert.NotEqual(WebhookDispatcher.Sign("other", t, second.Body), signature);
        await host.StopAsync();
    }

    [Fact]
    public async Task PendingJobCanceled_NotificationSaysCanceled()
    {
        var generator = new ScriptedGenerator("hook2", (_, _) => ValueTask.FromResult(new GenerationResult([])));
        using var host = Host.CreateDefaultBuilder().ConfigureServices(s => s
            .AddMediaGeneration()
            .ConfigureCredits(o => o.InitialBalance = 10)
            .AddGenerator(generator)).Build();
        await host.StartAsync();
        var client = host.Services.GetRequiredService<IMediaGenerationClient>();
        var job = (await client.SubmitAsync(new GenerationRequest { Prompt = "p", Model = generator.ModelId, OwnerId = "o", WebhookUrl = new Uri(_url + "c") })).Job;

        await client.CancelAsync("o", job.Id);

        var received = await ReceiveAsync(HttpStatusCode.OK);
        Assert.Equal("job.canceled", received.Headers["MediaGen-Event"]);
        Assert.Null(received.Headers[WebhookDispatcher.SignatureHeader]);
        await host.StopAsync();
    }

    private async Task<(byte[] Body, System.Collections.Specialized.NameValueCollection Headers)> ReceiveAsync(HttpStatusCode reply)
    {
        var context = await _listener.GetContextAsync().WaitAsync(TimeSpan.FromSeconds(20));
        using var body = new MemoryStream();
        await context.Request.InputStream.CopyToAsync(body);
        Assert.Equal("POST", context.Request.HttpMethod);
        Assert.Equal("application/json", context.Request.ContentType);
        context.Response.StatusCode = (int)reply;
        context.Response.Close();
        return (body.ToArray(), context.Request.Headers);
    }
}
