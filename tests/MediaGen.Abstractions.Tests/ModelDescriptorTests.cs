using System.Text.Json;

namespace MediaGen.Abstractions.Tests;

public sealed class ModelDescriptorTests
{
    private static readonly ModelDescriptor Model = new()
    {
        Id = "m",
        CostCredits = 3,
        Settings = new ModelSettingsRules
        {
            AspectRatios = ["1:1", "16:9"],
            MaxOutputs = 2,
            OutputFormats = [OutputFormat.Png, OutputFormat.Webp],
            Parameters = new Dictionary<string, ModelParameterRule>
            {
                ["guidance"] = new() { Kind = ModelParameterKind.Number, Minimum = 0, Maximum = 10 },
                ["steps"] = new() { Kind = ModelParameterKind.Integer, Minimum = 1, Maximum = 50 },
                ["style"] = new() { Kind = ModelParameterKind.String, AllowedValues = ["photo", "art"] },
            },
        },
    };

    private static GenerationRequest Request(GenerationSettings? settings = null, string? parameters = null, string? negative = null) => new()
    {
        Prompt = "p",
        Model = "m",
        OwnerId = "o",
        NegativePrompt = negative,
        Settings = settings ?? GenerationSettings.Default,
        Parameters = parameters is null ? null : JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(parameters),
    };

    [Fact]
    public void Validate_AcceptableRequest_ReturnsNoErrors()
    {
        var errors = Model.Validate(Request(new GenerationSettings { Width = 512, Height = 768, OutputCount = 2, OutputFormat = OutputFormat.Webp, Seed = 7 }, """{"guidance": 3.5, "steps": 20, "style": "art"}"""));
        Assert.Empty(errors);
    }

    [Fact]
    public void Validate_EveryRuleBroken_ReportsEachField()
    {
        var errors = Model.Validate(Request(
            new GenerationSettings { Width = 500, Height = 4096, AspectRatio = "4:3", OutputCount = 3, OutputFormat = OutputFormat.Jpeg },
            """{"guidance": 11, "steps": 2.5, "style": "oil", "unknown": 1}""",
            negative: "no"));

        Assert.Equal(
            ["negativePrompt", "parameters.guidance", "parameters.steps", "parameters.style", "parameters.unknown", "settings.aspectRatio", "settings.height", "settings.outputCount", "settings.outputFormat", "settings.width"],
            errors.Keys.Order(StringComparer.Ordinal));
        Assert.Contains(errors["settings.width"], m => m.Contains("multiple of 8", StringComparison.Ordinal));
        Assert.Contains(errors["settings.aspectRatio"], m => m.Contains("not both", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_WidthWithoutHeight_AsksForBoth()
    {
        var errors = Model.Validate(Request(new GenerationSettings { Width = 512 }));
        Assert.Equal(["Give both width and height."], errors["settings.height"]);
    }

    [Fact]
    public void Validate_DimensionsOnAspectRatioOnlyModel_Refused()
    {
        var model = Model with { Settings = Model.Settings with { SupportsDimensions = false, SupportsSeed = false } };
        var errors = model.Validate(Request(new GenerationSettings { Width = 512, Height = 512, Seed = 1 }));
        Assert.Contains("settings.width", errors.Keys);
        Assert.Contains("settings.seed", errors.Keys);
    }

    [Theory]
    [InlineData(ModelParameterKind.Boolean, "true", null)]
    [InlineData(ModelParameterKind.Boolean, "1", "Must be true or false.")]
    [InlineData(ModelParameterKind.String, "3", "Must be a string.")]
    [InlineData(ModelParameterKind.Number, "\"3\"", "Must be a number.")]
    [InlineData(ModelParameterKind.Integer, "3.0", "Must be a whole number.")]
    public void ModelParameterRuleCheck_Kinds(ModelParameterKind kind, string json, string? expected)
    {
        var rule = new ModelParameterRule { Kind = kind };
        Assert.Equal(expected, rule.Check(JsonDocument.Parse(json).RootElement));
    }
}
