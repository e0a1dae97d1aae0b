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
    [InlineData(null, 3)]
    [InlineData(1, 3)]
    [InlineData(2, 6)]
    public void GetCost_IsTheCostPerOutputTimesTheOutputsAskedFor(int? outputCount, long expected)
    {
        Assert.Equal(expected, Model.GetCost(Request(new GenerationSettings { OutputCount = outputCount })));
    }

    [Fact]
    public void GetCost_FreeModel_CostsNothingWhateverTheCount()
    {
        var free = Model with { CostCredits = 0 };

        Assert.Equal(0, free.GetCost(Request(new GenerationSettings { OutputCount = 2 })));
    }

    [Fact]
    public void Validate_CostBeyondSixtyFourBits_IsAnOutputCountError()
    {
        var dear = Model with { CostCredits = long.MaxValue / 2 + 1 };
        var request = Request(new GenerationSettings { OutputCount = 2 });

        var errors = dear.Validate(request);

        Assert.Equal(["settings.outputCount"], errors.Keys);
        Assert.Throws<OverflowException>(() => dear.GetCost(request));
        Assert.Empty(dear.Validate(Request(new GenerationSettings { OutputCount = 1 })));
    }

    [Theory]
    [InlineData("\"1,3\"", new[] { 1, 3 })]
    [InlineData("\" 2 , 0\"", new[] { 2, 0 })]
    [InlineData("\"0\"", new[] { 0 })]
    public void TryReadOutputIndexes_CommaSeparatedIndexes_ReadsThemInOrder(string json, int[] expected)
    {
        Assert.True(ModelParameterRule.TryReadOutputIndexes(JsonDocument.Parse(json).RootElement, out var indexes));
        Assert.Equal(expected, indexes);
    }

    [Theory]
    [InlineData("\"\"")]
    [InlineData("\"1,,2\"")]
    [InlineData("\"-1\"")]
    [InlineData("\"1,1\"")]
    [InlineData("\"one\"")]
    [InlineData("\"1.5\"")]
    [InlineData("1")]
    [InlineData("[1,3]")]
    [InlineData("\"1,\\udfff\"")]
    public void TryReadOutputIndexes_AnythingElse_IsRefused(string json)
    {
        var value = JsonDocument.Parse(json).RootElement;

        Assert.False(ModelParameterRule.TryReadOutputIndexes(value, out var indexes));
        Assert.Empty(indexes);
        Assert.NotNull(new ModelParameterRule { Kind = ModelParameterKind.OutputIndexes }.Check(value));
    }

    [Fact]
    public void Validate_OutputIndexesParameter_MustNameOutputsTheRequestAsksFor()
    {
        var model = Model with
        {
            Settings = Model.Settings with
            {
                MaxOutputs = 4,
                Parameters = new Dictionary<string, ModelParameterRule> { ["failOutputs"] = new() { Kind = ModelParameterKind.OutputIndexes } },
            },
        };

        Assert.Empty(model.Validate(Request(new GenerationSettings { OutputCount = 4 }, """{"failOutputs": "1,3"}""")));
        Assert.Empty(model.Validate(Request(new GenerationSettings { OutputCount = 2 }, """{"failOutputs": "0,1"}""")));
        var beyond = model.Validate(Request(new GenerationSettings { OutputCount = 2 }, """{"failOutputs": "1,3"}"""));
        Assert.Equal(["Output 3 does not exist: the request asks for 2 output(s), numbered from 0."], beyond["parameters.failOutputs"]);
        var unset = model.Validate(Request(parameters: """{"failOutputs": "1"}"""));
        Assert.Contains("parameters.failOutputs", unset.Keys);
        var malformed = model.Validate(Request(new GenerationSettings { OutputCount = 2 }, """{"failOutputs": "1;2"}"""));
        Assert.Single(malformed["parameters.failOutputs"]);
    }

    [Theory]
    [InlineData(ModelParameterKind.Boolean, "true", null)]
    [InlineData(ModelParameterKind.Boolean, "1", "Must be true or false.")]
    [InlineData(ModelParameterKind.String, "3", "Must be a string.")]
    [InlineData(ModelParameterKind.Number, "\"3\"", "Must be a number.")]
    [InlineData(ModelParameterKind.Integer, "3.0", "Must be a whole number.")]
    [InlineData(ModelParameterKind.String, "\"a \\ud800\"", "Must be valid Unicode text.")]
    public void ModelParameterRuleCheck_Kinds(ModelParameterKind kind, string json, string? expected)
    {
        var rule = new ModelParameterRule { Kind = kind };
        Assert.Equal(expected, rule.Check(JsonDocument.Parse(json).RootElement));
    }

    [Fact]
    public void Validate_StringParameterThatIsNotValidUnicode_IsAnErrorOfThatParameter()
    {
        // JSON text may escape a lone surrogate; reading it as a string would throw, so it is a validation error instead.
        var errors = Model.Validate(Request(parameters: """{"style": "\ud800"}"""));

        Assert.Equal(["Must be valid Unicode text."], errors["parameters.style"]);
    }
}
