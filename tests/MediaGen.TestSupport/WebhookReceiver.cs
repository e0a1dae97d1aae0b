using System.Security.Cryptography;
using StandardWebhooks;

namespace MediaGen.TestSupport;

/// <summary>
/// A webhook receiver on a real HTTP listener on 127.0.0.1 (allow-list its host, as only a development host may), answering
/// each delivery with the status a test chooses, and checking every delivery with the <c>StandardWebhooks</c> package as an
/// independent verifier.
/// </summary>
public sealed class WebhookReceiver : IDisposable
{
    private readonly HttpListener _listener = new();

    /// <summary>Starts listening on a free loopback port.</summary>
    public WebhookReceiver()
    {
        Port = FreePort.Next();
        Url = $"http://127.0.0.1:{Port}/hooks/";
        _listener.Prefixes.Add(Url);
        _listener.Start();
    }

    /// <summary>A fresh Standard Webhooks signing secret.</summary>
    public string Secret { get; } = "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>The port.</summary>
    public int Port { get; }

    /// <summary>The base URL, ending in <c>/hooks/</c>.</summary>
    public string Url { get; }

    /// <summary>Takes the next request without answering it: the caller answers (late, or with a redirect) through its response.</summary>
    /// <returns>The request's context.</returns>
    public Task<HttpListenerContext> AcceptAsync() => _listener.GetContextAsync().WaitAsync(Waits.Limit);

    /// <summary>Receives the next delivery and answers <paramref name="reply"/>, with <paramref name="retryAfter"/> if given.</summary>
    /// <param name="reply">The status to answer.</param>
    /// <param name="retryAfter">A Retry-After to send, in seconds.</param>
    /// <returns>The delivery.</returns>
    public async Task<Received> ReceiveAsync(HttpStatusCode reply, int? retryAfter = null)
    {
        var context = await AcceptAsync();
        using var body = new MemoryStream();
        await context.Request.InputStream.CopyToAsync(body);
        Assert.Equal("POST", context.Request.HttpMethod);
        Assert.Equal("application/json", context.Request.ContentType);
        var headers = new HeaderDictionary();
        foreach (var name in context.Request.Headers.AllKeys)
        {
            headers[name!] = context.Request.Headers[name];
        }

        context.Response.StatusCode = (int)reply;
        if (retryAfter is { } seconds)
        {
            context.Response.AddHeader("Retry-After", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        context.Response.Close();
        using var document = JsonDocument.Parse(body.ToArray());
        return new Received(body.ToArray(), headers, context.Request.Url!.AbsolutePath, document.RootElement.GetProperty("type").GetString()!, document.RootElement.GetProperty("data").Clone());
    }

    /// <summary>Checks <paramref name="received"/> with the <c>StandardWebhooks</c> package against <see cref="Secret"/>.</summary>
    /// <param name="received">The delivery.</param>
    public void Verify(Received received)
    {
        ArgumentNullException.ThrowIfNull(received);
        new StandardWebhook(Secret).Verify(Encoding.UTF8.GetString(received.Body), received.Headers);
    }

    /// <inheritdoc />
    public void Dispose() => _listener.Close();

    /// <summary>One delivery as received.</summary>
    /// <param name="Body">The body's bytes.</param>
    /// <param name="Headers">The request headers.</param>
    /// <param name="Path">The request path.</param>
    /// <param name="Type">The body's <c>type</c>.</param>
    /// <param name="Data">The body's <c>data</c>.</param>
    public sealed record Received(byte[] Body, HeaderDictionary Headers, string Path, string Type, JsonElement Data)
    {
        /// <summary>The <c>webhook-id</c> header.</summary>
        public string Id => Headers["webhook-id"].ToString();
    }
}
