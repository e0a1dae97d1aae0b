namespace MediaGen.Generators.Replicate.Tests;

/// <summary>The catalog checked against stored copies of real model schemas, served by the fake as Replicate serves them.</summary>
public sealed class ReplicateCatalogVerifierTests : FakeServerTests<FakeReplicateServer>
{
    [Fact]
    public async Task VerifyAsync_BuiltInFlux11ProAgainstItsSchema_ReportsNothing()
    {
        var verifier = Verifier(o => o.Models["flux-1.1-pro"] = BuiltIn("flux-1.1-pro"));

        Assert.Empty(await verifier.VerifyAsync());
    }

    [Fact]
    public async Task VerifyAsync_CatalogDriftedFromTheSchema_ReportsEachRangeEnumAndSizeThatDiffers()
    {
        var verifier = Verifier(o =>
        {
            var pro = BuiltIn("flux-1.1-pro");
            pro.Parameters["safety_tolerance"].Maximum = 5;
            pro.AspectRatios = ["1:1", "16:9", "21:9"];
            pro.MaxDimension = 2048;
            pro.OutputFormats = [OutputFormat.Png, OutputFormat.Jpeg];
            o.Models["flux-1.1-pro"] = pro;
        });

        var found = await verifier.VerifyAsync();

        Assert.Equal(
            [
                new CatalogDisagreement("flux-1.1-pro", "parameters.safety_tolerance maximum", "5", "6"),
                new CatalogDisagreement("flux-1.1-pro", "aspect ratios", "1:1, 16:9, 21:9", "1:1, 16:9, 3:2, 2:3, 4:5, 5:4, 9:16, 3:4, 4:3"),
                new CatalogDisagreement("flux-1.1-pro", "largest width", "2048", "1440"),
                new CatalogDisagreement("flux-1.1-pro", "output formats", "png, jpg", "webp, jpg, png"),
            ],
            found);
    }

    [Fact]
    public async Task VerifyAsync_SchemaWithEnumsBehindReferences_ResolvesThemAndReportsTheMissingInput()
    {
        var verifier = Verifier(o => o.Models["flux-schnell"] = BuiltIn("flux-schnell"));

        var found = await verifier.VerifyAsync();

        Assert.Equal([new CatalogDisagreement("flux-schnell", "parameters.steps", "input 'num_inference_steps'", "no such input")], found);
    }

    [Fact]
    public async Task VerifyAsync_PinnedVersion_ReadsThatVersionsSchema()
    {
        var verifier = Verifier(o => o.Models["pinned"] = new ReplicateModelOptions
        {
            Model = "black-forest-labs/flux-schnell",
            Version = "f2ab8a5bfe79f02f0789a146cf5e73d2a4ff2684a98c2b303d1e1ff3814271db",
            CostCredits = 1,
            AspectRatios = ["1:1"],
            MaxOutputs = 4,
            OutputFormats = [OutputFormat.Webp, OutputFormat.Jpeg, OutputFormat.Png],
            SupportsDimensions = false,
            SupportsSeed = true,
        });

        var found = await verifier.VerifyAsync();

        await Server.WaitForRequestAsync((method, path) => method == "GET" && path.EndsWith("/versions/f2ab8a5bfe79f02f0789a146cf5e73d2a4ff2684a98c2b303d1e1ff3814271db", StringComparison.Ordinal), "the version's schema");
        Assert.Equal("aspect ratios", Assert.Single(found).Setting);
    }

    [Fact]
    public async Task VerifyAsync_ModelUnknownToReplicate_ThrowsNamingIt()
    {
        var verifier = Verifier(o => o.Models["gone"] = new ReplicateModelOptions { Model = "acme/gone", CostCredits = 1 });

        var error = await Assert.ThrowsAsync<GenerationException>(() => verifier.VerifyAsync());

        Assert.Contains("acme/gone", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_VerifyCatalogFailAndTheCatalogDrifted_StopsTheHostNamingTheDifference()
    {
        using var host = Host.CreateDefaultBuilder().ConfigureServices(s => s.AddMediaGeneration().AddReplicateGenerator(Http, o =>
        {
            Configure(o);
            o.VerifyCatalog = CatalogVerification.Fail;
            var pro = BuiltIn("flux-1.1-pro");
            pro.Parameters["safety_tolerance"].Maximum = 5;
            o.Models["flux-1.1-pro"] = pro;
        })).Build();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());

        Assert.Contains("flux-1.1-pro: parameters.safety_tolerance maximum is 5 in the catalog but 6 on Replicate.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_VerifyCatalogWarnAndTheCatalogMatches_Starts()
    {
        using var host = Host.CreateDefaultBuilder().ConfigureServices(s => s.AddMediaGeneration().AddReplicateGenerator(Http, o =>
        {
            Configure(o);
            o.VerifyCatalog = CatalogVerification.Warn;
            o.Models["flux-1.1-pro"] = BuiltIn("flux-1.1-pro");
        })).Build();

        await host.StartAsync();
        await host.StopAsync();

        await Server.WaitForRequestAsync((method, path) => method == "GET" && path == "/v1/models/black-forest-labs/flux-1.1-pro", "the model's schema");
    }

    protected override async Task<FakeReplicateServer> StartServerAsync()
    {
        var server = await FakeReplicateServer.StartAsync();
        foreach (var (model, file) in new[] { ("black-forest-labs/flux-1.1-pro", "flux-1.1-pro.json"), ("black-forest-labs/flux-schnell", "flux-schnell.json") })
        {
            server.ModelSchemas[model] = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Schemas", file));
        }

        return server;
    }

    private static ReplicateModelOptions BuiltIn(string id) => ReplicateModelCatalog.BuiltIn()[id];

    private void Configure(ReplicateGeneratorOptions options)
    {
        options.BaseUrl = Server.BaseUrl;
        options.ApiToken = FakeReplicateServer.Token;
        options.IncludeBuiltInModels = false;
    }

    private ReplicateCatalogVerifier Verifier(Action<ReplicateGeneratorOptions> configure)
    {
        var options = new ReplicateGeneratorOptions();
        Configure(options);
        configure(options);
        return new ReplicateCatalogVerifier(
            Microsoft.Extensions.Options.Options.Create(options),
            new ProviderHttpClientSource<ReplicateGeneratorOptions>(() => Http),
            new ProviderRateGate(TimeProvider.System),
            TimeProvider.System,
            NullLogger<ReplicateCatalogVerifier>.Instance);
    }
}
