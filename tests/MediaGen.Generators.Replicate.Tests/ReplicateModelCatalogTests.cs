using System.Text.Json;

namespace MediaGen.Generators.Replicate.Tests;

public sealed class ReplicateModelCatalogTests
{
    private static readonly IReadOnlyDictionary<string, ReplicateModel> Catalog = Build(new ReplicateGeneratorOptions { ApiToken = "t" });

    [Fact]
    public void Build_Defaults_ServesTheFiveBuiltInModels()
    {
        Assert.Equal(["flux-1.1-pro", "flux-dev", "flux-schnell", "sd3", "sdxl"], Catalog.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("black-forest-labs/flux-schnell", Catalog["flux-schnell"].Reference);
        Assert.StartsWith("stability-ai/sdxl:", Catalog["sdxl"].Reference, StringComparison.Ordinal);
        Assert.All(Catalog.Values, m => Assert.True(m.Descriptor.CostCredits > 0));
    }

    public static TheoryData<string, GenerationSettings, string?, string, string> Rejected => new()
    {
        { "flux-schnell", new GenerationSettings { Width = 1024, Height = 1024 }, null, "", "settings.width" },
        { "flux-schnell", new GenerationSettings { AspectRatio = "7:3" }, null, "", "settings.aspectRatio" },
        { "flux-schnell", new GenerationSettings { OutputCount = 5 }, null, "", "settings.outputCount" },
        { "flux-schnell", GenerationSettings.Default, null, "{\"guidance\":3}", "parameters.guidance" },
        { "flux-schnell", GenerationSettings.Default, null, "{\"steps\":8}", "parameters.steps" },
        { "flux-dev", GenerationSettings.Default, null, "{\"steps\":60}", "parameters.steps" },
        { "flux-dev", GenerationSettings.Default, null, "{\"guidance\":\"high\"}", "parameters.guidance" },
        { "flux-dev", GenerationSettings.Default, "blurry", "", "negativePrompt" },
        { "flux-1.1-pro", new GenerationSettings { OutputCount = 2 }, null, "", "settings.outputCount" },
        { "flux-1.1-pro", new GenerationSettings { Width = 1000, Height = 1024 }, null, "", "settings.width" },
        { "flux-1.1-pro", new GenerationSettings { Width = 2048, Height = 1024 }, null, "", "settings.width" },
        { "flux-1.1-pro", GenerationSettings.Default, null, "{\"steps\":20}", "parameters.steps" },
        { "sdxl", new GenerationSettings { AspectRatio = "16:9" }, null, "", "settings.aspectRatio" },
        { "sdxl", new GenerationSettings { OutputFormat = OutputFormat.Webp }, null, "", "settings.outputFormat" },
        { "sdxl", GenerationSettings.Default, null, "{\"guidance\":60}", "parameters.guidance" },
        { "sd3", new GenerationSettings { Width = 1024, Height = 1024 }, null, "", "settings.width" },
        { "sd3", new GenerationSettings { OutputCount = 2 }, null, "", "settings.outputCount" },
        { "sd3", GenerationSettings.Default, null, "{\"steps\":29}", "parameters.steps" },
    };

    [Theory]
    [MemberData(nameof(Rejected))]
    public void Validate_SettingTheModelDoesNotAccept_IsAValidationError(string model, GenerationSettings settings, string? negativePrompt, string parameters, string field)
    {
        var errors = Catalog[model].Descriptor.Validate(Request(model, settings, negativePrompt, parameters));

        Assert.Contains(field, errors.Keys);
    }

    public static TheoryData<string, GenerationSettings, string?, string> Accepted => new()
    {
        { "flux-schnell", new GenerationSettings { AspectRatio = "16:9", OutputCount = 4, OutputFormat = OutputFormat.Jpeg, Seed = 42 }, null, "{\"steps\":4,\"go_fast\":true}" },
        { "flux-dev", new GenerationSettings { AspectRatio = "9:21", OutputFormat = OutputFormat.Png }, null, "{\"guidance\":3.5,\"steps\":28}" },
        { "flux-1.1-pro", new GenerationSettings { Width = 1440, Height = 768 }, null, "{\"safety_tolerance\":2}" },
        { "flux-1.1-pro", new GenerationSettings { AspectRatio = "3:2", OutputFormat = OutputFormat.Webp }, null, "" },
        { "sdxl", new GenerationSettings { Width = 1024, Height = 768, OutputCount = 4 }, "blurry", "{\"guidance\":7.5,\"steps\":30}" },
        { "sd3", new GenerationSettings { AspectRatio = "21:9" }, "text", "{\"guidance\":4.5,\"steps\":28}" },
    };

    [Theory]
    [MemberData(nameof(Accepted))]
    public void Validate_SettingsTheModelAccepts_HasNoErrors(string model, GenerationSettings settings, string? negativePrompt, string parameters)
    {
        var errors = Catalog[model].Descriptor.Validate(Request(model, settings, negativePrompt, parameters));

        Assert.Empty(errors);
    }

    [Fact]
    public void BuildInput_MapsCommonSettingsAndParametersToTheModelsInputNames()
    {
        var pro = ReplicateGenerator.BuildInput(Catalog["flux-1.1-pro"], Request("flux-1.1-pro", new GenerationSettings { Width = 1024, Height = 768, OutputFormat = OutputFormat.Jpeg, Seed = 7 }, null, ""));
        var sdxl = ReplicateGenerator.BuildInput(Catalog["sdxl"], Request("sdxl", new GenerationSettings { OutputCount = 2 }, "blurry", "{\"guidance\":7.5,\"steps\":30}"));
        var sd3 = ReplicateGenerator.BuildInput(Catalog["sd3"], Request("sd3", new GenerationSettings { AspectRatio = "16:9" }, null, "{\"guidance\":4}"));

        Assert.Equal("custom", pro["aspect_ratio"]!.GetValue<string>());
        Assert.Equal(1024, pro["width"]!.GetValue<int>());
        Assert.Equal("jpg", pro["output_format"]!.GetValue<string>());
        Assert.Equal(7, pro["seed"]!.GetValue<long>());
        Assert.Null(pro["num_outputs"]);
        var schnell = ReplicateGenerator.BuildInput(Catalog["flux-schnell"], Request("flux-schnell", GenerationSettings.Default, null, ""));
        Assert.Equal(1, schnell["num_outputs"]!.GetValue<int>());
        Assert.Equal(2, sdxl["num_outputs"]!.GetValue<int>());
        Assert.Equal(7.5, sdxl["guidance_scale"]!.GetValue<double>());
        Assert.Equal(30, sdxl["num_inference_steps"]!.GetValue<int>());
        Assert.Equal("blurry", sdxl["negative_prompt"]!.GetValue<string>());
        Assert.Null(sdxl["output_format"]);
        Assert.Equal(4, sd3["cfg"]!.GetValue<int>());
        Assert.Equal("16:9", sd3["aspect_ratio"]!.GetValue<string>());
    }

    [Fact]
    public void Build_ConfiguredChanges_MergeOverTheBuiltInModelValueByValue()
    {
        var options = new ReplicateGeneratorOptions { ApiToken = "t" };
        options.Models["flux-dev"] = new ReplicateModelOptions { CostCredits = 20 };
        options.Models["flux-dev"].Parameters["steps"] = new GeneratorParameterOptions { Maximum = 30 };
        options.Models["acme-art"] = new ReplicateModelOptions { Model = "acme/art", CostCredits = 2, AspectRatios = ["1:1"] };

        var catalog = Build(options);

        var dev = catalog["flux-dev"];
        Assert.Equal(20, dev.Descriptor.CostCredits);
        Assert.Equal(Catalog["flux-dev"].Descriptor.Settings.AspectRatios, dev.Descriptor.Settings.AspectRatios);
        Assert.Equal(30, dev.Descriptor.Settings.Parameters["steps"].Maximum);
        Assert.Equal(1, dev.Descriptor.Settings.Parameters["steps"].Minimum);
        Assert.Equal("num_inference_steps", dev.ParameterInputs["steps"]);
        Assert.True(dev.Descriptor.Settings.Parameters.ContainsKey("guidance"));
        Assert.Equal("acme/art", catalog["acme-art"].Reference);
        Assert.Equal(6, catalog.Count);
    }

    [Fact]
    public void Build_NewModelWithoutReferenceOrCost_ReportsWhatToSet()
    {
        var options = new ReplicateGeneratorOptions { ApiToken = "t", IncludeBuiltInModels = false };
        options.Models["broken"] = new ReplicateModelOptions { CostCredits = 1 };
        options.Models["free"] = new ReplicateModelOptions { Model = "acme/free" };

        var catalog = ReplicateModelCatalog.Build(options, out var errors);

        Assert.Empty(catalog);
        Assert.Contains(errors, e => e.Contains("Models:broken:Model", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("Models:free:CostCredits", StringComparison.Ordinal));
    }

    [Fact]
    public void ReadProgress_TqdmBarInLogs_ReportsTheLastStep()
    {
        var logs = "Using seed: 1\n  0%|          | 0/28 [00:00<?, ?it/s]\n 25%|##5       | 7/28 [00:01<00:03,  6.1it/s]\n 50%|#####     | 14/28 [00:02<00:02,  6.1it/s]\n";
        var prediction = new ReplicatePrediction("p", ReplicatePrediction.Processing, null, logs, default);

        var progress = ReplicateGenerator.ReadProgress(prediction);

        Assert.Equal(0.5, progress.Fraction);
        Assert.Equal("step 14/28", progress.Message);
    }

    private static IReadOnlyDictionary<string, ReplicateModel> Build(ReplicateGeneratorOptions options)
    {
        var catalog = ReplicateModelCatalog.Build(options, out var errors);
        Assert.Empty(errors);
        return catalog;
    }

    private static GenerationRequest Request(string model, GenerationSettings settings, string? negativePrompt, string parameters) => new()
    {
        Prompt = "a cat",
        Model = model,
        OwnerId = "o",
        Settings = settings,
        NegativePrompt = negativePrompt,
        Parameters = parameters.Length == 0 ? null : JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(parameters),
    };
}
