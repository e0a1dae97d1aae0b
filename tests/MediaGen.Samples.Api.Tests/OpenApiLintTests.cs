using System.Diagnostics;

namespace MediaGen.Samples.Api.Tests;

/// <summary>
/// The sample's OpenAPI document, as a client generator would fetch it, checked by an independent linter: Redocly CLI
/// with its recommended rules (installed by eng/test.sh, see eng/servers/redocly.sh).
/// </summary>
public sealed class OpenApiLintTests
{
    private const string Variable = "MEDIAGEN_REDOCLY";

    [ServerFact(Variable)]
    public async Task OpenApiDocument_UnderRedoclysRecommendedRules_HasNoErrorsOrWarnings()
    {
        using var factory = new ApiFactory();
        // The document names the server the request reached: a deployed host's name, not localhost (which the rules flag).
        using var client = factory.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { BaseAddress = new Uri("https://api.mediagen.test") });
        using var directory = new TempDirectory("openapi");
        var document = Path.Combine(directory.Path, "openapi.json");
        await File.WriteAllTextAsync(document, await client.GetStringAsync("/openapi/v1.json"));

        var report = await LintAsync(document);

        var problems = report.GetProperty("problems").EnumerateArray()
            .Select(p => $"{p.GetProperty("severity").GetString()} {p.GetProperty("ruleId").GetString()}: {p.GetProperty("message").GetString()}")
            .ToList();
        Assert.True(problems.Count == 0, "Redocly found problems:\n" + string.Join('\n', problems));
        Assert.Equal(0, report.GetProperty("totals").GetProperty("errors").GetInt32());
    }

    private static async Task<JsonElement> LintAsync(string document)
    {
        var start = new ProcessStartInfo("node")
        {
            ArgumentList = { Environment.GetEnvironmentVariable(Variable)!, "lint", document, "--extends", "recommended", "--format", "json" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["REDOCLY_TELEMETRY"] = "off", ["REDOCLY_SUPPRESS_UPDATE_NOTICE"] = "true", ["NO_COLOR"] = "1" },
        };
        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var errors = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        var json = await output;
        Assert.True(json.TrimStart().StartsWith('{'), $"Redocly printed no report (exit {process.ExitCode}): {await errors}");
        return JsonDocument.Parse(json).RootElement.Clone();
    }
}
