using System.Collections.Concurrent;
using System.Globalization;
using Xunit.Abstractions;

namespace MediaGen.AspNetCore.Tests;

/// <summary>
/// Sends thousands of hostile requests (malformed, oversized and mistyped bodies, invalid UTF-8, odd Accept and
/// Content-Type headers, path ids with control characters and invalid percent-encoding, wrong methods, no owner) to a
/// host built on the package, and checks that none is answered with a 5xx and that every 4xx is a problem+json
/// document with its status and a code. The generator is seeded, so a failure names the request that caused it and
/// reruns the same way.
/// </summary>
public sealed class HostileRequestFuzzTests(ITestOutputHelper output)
{
    private const int Requests = 6000;
    private const int Parallelism = 8;
    private const int Seed = 20261129;

    private static readonly string[] Accepts =
    [
        "application/json", "application/problem+json", "text/event-stream", "text/html", "text/plain", "image/png", "*/*",
        "*/*;q=0", "application/xml", "application/json;q=0", "text/*, image/*;q=0.1", "application/vnd.api+json", ";;;", "garbage",
        "application/json; charset=latin1", "multipart/form-data; boundary=x",
    ];

    private static readonly string[] ContentTypes =
    [
        "application/json", "application/json; charset=utf-8", "application/problem+json", "text/plain", "application/x-www-form-urlencoded",
        "application/json; charset=utf-16", "application/xml", "multipart/form-data; boundary=zz", "application/octet-stream", "",
    ];

    [Fact]
    public async Task HostileRequests_AreNeverAnswered5xx_AndEvery4xxIsProblemJson()
    {
        await using var host = await TestApiHost.StartAsync(api: o => o.SseKeepAliveInterval = TimeSpan.FromMilliseconds(50));
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Parallelism }) { BaseAddress = host.Address, Timeout = TimeSpan.FromSeconds(30) };
        var owners = new[] { "fuzz-a", "fuzz-b" };
        var realIds = new List<string>();
        foreach (var owner in owners)
        {
            using var client = host.CreateClient(owner);
            for (var i = 0; i < 3; i++)
            {
                realIds.Add(await client.SubmitIdAsync(new { prompt = $"seed job {i}", model = "procedural" }));
            }
        }

        var failures = new ConcurrentQueue<string>();
        var statuses = new ConcurrentDictionary<int, int>();
        var next = -1;
        var workers = Enumerable.Range(0, Parallelism).Select(_ => Task.Run(async () =>
        {
            int n;
            while ((n = Interlocked.Increment(ref next)) < Requests)
            {
                // Seed + n, not HashCode.Combine: that is seeded anew in every process, so no run could be repeated.
                var random = new Random(Seed + n);
                using var request = Build(random, realIds, owners, out var description);
                try
                {
                    using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                    statuses.AddOrUpdate((int)response.StatusCode, 1, (_, c) => c + 1);
                    if (await CheckAsync(response) is { } problem)
                    {
                        failures.Enqueue($"#{n} {description}: {problem}");
                    }
                }
                catch (HttpRequestException e)
                {
                    failures.Enqueue($"#{n} {description}: {e.Message}");
                }
            }
        })).ToArray();
        await Task.WhenAll(workers);

        output.WriteLine(string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}")));
        Assert.True(failures.IsEmpty, $"{failures.Count} of {Requests} requests failed the check:\n{string.Join("\n", failures.Take(20))}");
        Assert.Equal(Requests, statuses.Values.Sum());
        // The generator reaches every kind of answer, so a change that made it send only one kind would show here.
        foreach (var status in new[] { 200, 202, 204, 400, 401, 404, 405, 409, 413, 415 })
        {
            Assert.True(statuses.ContainsKey(status), $"No request was answered {status}.");
        }

        // And the process is still healthy: a plain submission runs to the end.
        using var after = host.CreateClient("after-fuzz");
        var id = await after.SubmitIdAsync(new { prompt = "still standing", model = "procedural" });
        Assert.Equal("succeeded", (await after.WaitForFinalAsync(id)).Status());
    }

    private static async Task<string?> CheckAsync(HttpResponseMessage response)
    {
        var status = (int)response.StatusCode;
        if (status >= 500)
        {
            return $"answered {status}: {await ReadSomeAsync(response)}";
        }

        if (status < 400)
        {
            // A 2xx event stream stays open: it is not read.
            return null;
        }

        if (response.Content.Headers.ContentType?.MediaType != "application/problem+json")
        {
            return $"answered {status} as '{response.Content.Headers.ContentType}': {await ReadSomeAsync(response)}";
        }

        var text = await response.Content.ReadAsStringAsync();
        try
        {
            using var document = JsonDocument.Parse(text);
            var root = document.RootElement;
            if (!root.TryGetProperty("status", out var s) || s.GetInt32() != status
                || !root.TryGetProperty("code", out var code) || code.ValueKind != JsonValueKind.String || code.GetString()!.Length == 0)
            {
                return $"answered {status} with a problem lacking its status or code: {text}";
            }
        }
        catch (JsonException)
        {
            return $"answered {status} with a body that is not JSON: {text}";
        }

        return null;
    }

    private static async Task<string> ReadSomeAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return text.Length > 300 ? text[..300] : text;
    }

    private static HttpRequestMessage Build(Random random, List<string> realIds, string[] owners, out string description)
    {
        var path = BuildPath(random, realIds, out var expectedMethod);
        // Mostly the path's own method, so most requests reach an endpoint; sometimes any other.
        var method = random.Next(4) == 0 ? Pick(random, ["GET", "POST", "DELETE", "PUT", "PATCH", "OPTIONS"]) : expectedMethod;
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        var accept = random.Next(5) == 0 ? RandomAscii(random, random.Next(1, 40)) : Pick(random, Accepts);
        request.Headers.TryAddWithoutValidation("Accept", accept);
        var owner = random.Next(10) switch
        {
            0 => null,
            1 => RandomAscii(random, random.Next(1, 300)),
            _ => Pick(random, owners),
        };
        if (owner is not null)
        {
            request.Headers.TryAddWithoutValidation("X-Owner", owner);
        }

        if (random.Next(4) == 0)
        {
            request.Headers.TryAddWithoutValidation("Idempotency-Key", RandomAscii(random, random.Next(0, 400)));
        }

        var bodyKind = "none";
        if (method is "POST" or "PUT" or "PATCH" || random.Next(10) == 0)
        {
            (var body, bodyKind) = BuildBody(random);
            var content = new ByteArrayContent(body);
            var contentType = Pick(random, ContentTypes);
            if (contentType.Length > 0)
            {
                content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            }

            if (random.Next(4) == 0)
            {
                // No Content-Length: the body arrives chunked, of unknown size.
                request.Content = new StreamContent(new MemoryStream(body));
                foreach (var header in content.Headers.Where(h => h.Key != "Content-Length"))
                {
                    request.Content.Headers.TryAddWithoutValidation(header.Key, header.Value);
                }

                request.Headers.TransferEncodingChunked = true;
            }
            else
            {
                request.Content = content;
            }
        }

        description = $"{method} {Shorten(path)} Accept='{Shorten(accept)}' owner={(owner is null ? "none" : Shorten(owner))} body={bodyKind}";
        return request;
    }

    private static string BuildPath(Random random, List<string> realIds, out string method)
    {
        var id = random.Next(12) switch
        {
            0 or 1 or 2 => Pick(random, realIds.ToArray()),
            3 => Convert.ToHexStringLower(RandomBytes(random, 16)),
            4 => new string('a', random.Next(100, 3000)),
            5 => "%" + random.Next(1, 32).ToString("X2", CultureInfo.InvariantCulture) + "id%0A%0D%1B",
            6 => string.Concat(RandomBytes(random, random.Next(1, 12)).Select(b => "%" + Math.Max((byte)1, b).ToString("X2", CultureInfo.InvariantCulture))),
            7 => "..%2F..%2Fetc%2Fpasswd",
            8 => Uri.EscapeDataString("ジョブ😀\u200B\uFEFF"),
            9 => "%C0%AF%E0%80%AF%ED%A0%80",
            10 => RandomAscii(random, random.Next(1, 60)).Replace("%", "%25", StringComparison.Ordinal).Replace("?", "%3F", StringComparison.Ordinal).Replace("#", "%23", StringComparison.Ordinal).Replace("/", "%2F", StringComparison.Ordinal).Replace("\\", "%5C", StringComparison.Ordinal),
            _ => "",
        };
        (method, var path) = random.Next(14) switch
        {
            0 or 1 or 2 or 3 or 4 => ("POST", "/api/v1/generations"),
            5 => ("GET", "/api/v1/generations"),
            6 => ("GET", $"/api/v1/generations/{id}"),
            7 => ("DELETE", $"/api/v1/generations/{id}"),
            8 => ("POST", $"/api/v1/generations/{id}/cancel"),
            9 => ("POST", $"/api/v1/generations/{id}/retry"),
            10 => ("GET", $"/api/v1/generations/{id}/events"),
            11 => ("GET", Pick(random, ["/api/v1/models", "/api/v1/credits"])),
            12 => ("GET", $"/api/v1/generations/{id}/{id}/x"),
            _ => ("GET", $"/api/v1/{id}"),
        };
        if (random.Next(4) == 0)
        {
            path += "?" + Pick(random, [
                "status=" + Pick(random, ["pending", "SUCCEEDED", "1", "-1", "done", "%00", "canceled%0A", ""]),
                "limit=" + Pick(random, ["0", "1", "200", "201", "-5", "99999999999999999999", "1e3", "%FF", "abc"]),
                "cursor=" + Pick(random, ["", "abc", "%FF%FE", new string('z', 2000), "eyJ4IjoxfQ", "%00%01"]),
                "status=pending&status=failed&limit=2&limit=3",
                "apiKey=x&" + RandomAscii(random, 30).Replace("&", "", StringComparison.Ordinal).Replace("#", "", StringComparison.Ordinal),
            ]);
        }

        return path;
    }

    private static (byte[] Body, string Kind) BuildBody(Random random)
    {
        var valid = $$"""{"prompt":"a fox {{random.Next()}}","model":"{{Pick(random, ["procedural", "procedural-hd"])}}","width":64,"height":64}""";
        switch (random.Next(16))
        {
            case 0:
            case 1:
                return (Encoding.UTF8.GetBytes(valid), "valid");
            case 2:
                return (Encoding.UTF8.GetBytes(valid[..random.Next(valid.Length)]), "truncated");
            case 3:
                var flipped = Encoding.UTF8.GetBytes(valid);
                for (var i = 0; i < 3; i++)
                {
                    flipped[random.Next(flipped.Length)] = (byte)random.Next(256);
                }

                return (flipped, "flipped bytes");
            case 4:
                return (RandomBytes(random, random.Next(0, 2000)), "random bytes");
            case 5:
                return ([.. "{\"prompt\":\"a "u8, 0xC3, 0x28, 0xA0, 0xA1, 0xF0, 0x28, 0x8C, 0xBC, .. "\",\"model\":\"procedural\"}"u8], "invalid utf-8");
            case 6:
                var fields = Pick(random, ["\"width\":\"wide\"", "\"width\":1e400", "\"outputCount\":99999999999999999999", "\"seed\":-1.5", "\"priority\":\"urgent\"", "\"priority\":7", "\"outputFormat\":{}", "\"parameters\":[1]", "\"parameters\":{\"a\":null}", "\"prompt\":12", "\"prompt\":null", "\"webhookUrl\":\"javascript:alert(1)\"", "\"webhookUrl\":\"http://[::1\"", "\"aspectRatio\":\"0:0\"", "\"width\":-64,\"height\":0"]);
                return (Encoding.UTF8.GetBytes($$"""{"prompt":"a fox","model":"procedural",{{fields}}}"""), "wrong types");
            case 7:
                var depth = random.Next(20, 5000);
                return (Encoding.UTF8.GetBytes("{\"prompt\":\"a\",\"model\":\"procedural\",\"parameters\":{\"x\":" + new string('[', depth) + new string(']', depth) + "}}"), "deep nesting");
            case 8:
                return (Encoding.UTF8.GetBytes("{\"prompt\":\"" + new string('a', random.Next(60_000, 300_000)) + "\",\"model\":\"procedural\"}"), "huge");
            case 9:
                var count = random.Next(10, 3000);
                return (Encoding.UTF8.GetBytes("{\"prompt\":\"a fox\",\"model\":\"procedural\",\"parameters\":{" + string.Join(",", Enumerable.Range(0, count).Select(i => $"\"p{i}\":{i}")) + "}}"), "many parameters");
            case 10:
                return (Encoding.UTF8.GetBytes("{\"prompt\":\"a\\u0000\\u001b[31m\\ud800 fox\\t\\r\\n\",\"model\":\"procedural\\u0000\",\"negativePrompt\":\"\\udfff\"}"), "control and surrogate escapes");
            case 11:
                return (Encoding.UTF8.GetBytes(Pick(random, ["null", "[]", "\"text\"", "12", "true", "{}", "{\"prompt\":\"a\",\"prompt\":\"b\",\"model\":\"procedural\"}"])), "not an object");
            case 12:
                return (Encoding.Unicode.GetBytes(valid), "utf-16");
            case 13:
                return ([0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(valid)], "utf-8 with bom");
            case 14:
                return (Encoding.UTF8.GetBytes($$"""{"prompt":"{{new string('x', random.Next(1990, 2010))}}","model":"procedural","outputCount":{{random.Next(-2, 12)}}}"""), "edge values");
            default:
                return ([], "empty");
        }
    }

    private static T Pick<T>(Random random, T[] items) => items[random.Next(items.Length)];

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    // Printable ASCII: what an HTTP client can put in a header or a path; the server refuses control characters in
    // headers itself, before any application code runs.
    private static string RandomAscii(Random random, int length) =>
        string.Create(length, random, static (chars, r) =>
        {
            for (var i = 0; i < chars.Length; i++)
            {
                chars[i] = (char)r.Next(0x20, 0x7F);
            }
        });

    private static string Shorten(string text) => text.Length > 80 ? string.Concat(text.AsSpan(0, 80), "…") : text;
}
