namespace MediaGen.Core.Tests.Moderation;

public sealed class ContentModerationTests : IDisposable
{
    private readonly NegativePromptGenerator _generator = new();
    private readonly IJobQueue _queue = Substitute.For<IJobQueue>();
    private ServiceProvider? _services;

    public void Dispose() => _services?.Dispose();

    [Theory]
    [InlineData("a scene full of gore")]
    [InlineData("A Scene Full Of GORE")]
    [InlineData("a scene full of górë")]
    [InlineData("a scene full of g\u200Bo\u200Dr\u00ADe")]
    [InlineData("a scene full of ｇｏｒｅ")]
    [InlineData("gore.")]
    [InlineData("lots of blood   and   guts")]
    public async Task SubmitAsync_BlockedTermHowEverWritten_RefusedAndNothingWrittenOrCharged(string prompt)
    {
        var client = Client(m => m.AddBlockedTermsModerator(o =>
        {
            o.Terms.Add("gore");
            o.Terms.Add("Blood and Guts");
        }));

        var refused = await Assert.ThrowsAsync<ContentBlockedException>(async () => await client.SubmitAsync(Request(prompt)));

        Assert.Equal((MediaGenErrorCodes.ContentBlocked, "prompt", "blocked-terms"), (refused.ErrorCode, refused.Field, refused.Moderator));
        Assert.DoesNotContain("gore", refused.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Empty((await Store.ListAsync(new JobQuery { OwnerId = "alice" })).Items);
        Assert.Equal(25, await Ledger.GetBalanceAsync("alice"));
        await _queue.DidNotReceiveWithAnyArgs().EnqueueAsync(default!, default, default);
    }

    [Theory]
    [InlineData("a gorge at dawn")]
    [InlineData("gorefield")]
    [InlineData("blood orange and guts")]
    public async Task SubmitAsync_TermOnlyInsideOtherWords_Accepted(string prompt)
    {
        var client = Client(m => m.AddBlockedTermsModerator(o =>
        {
            o.Terms.Add("gore");
            o.Terms.Add("blood and guts");
        }));

        var result = await client.SubmitAsync(Request(prompt));

        Assert.True(result.Created);
        Assert.Equal(15, await Ledger.GetBalanceAsync("alice"));
    }

    [Fact]
    public async Task SubmitAsync_BlockedNegativePromptOrPattern_RefusedNamingTheField()
    {
        var client = Client(m => m.AddBlockedTermsModerator(o =>
        {
            o.Patterns.Add(@"\bkill(s|ed|ing)?\b");
            o.PatternTimeout = TimeSpan.FromSeconds(10); // the test is about matching, not about a busy machine's timing
            o.Reason = "Not on this service.";
        }));

        var negative = await Assert.ThrowsAsync<ContentBlockedException>(async () =>
            await client.SubmitAsync(Request("a quiet harbour") with { NegativePrompt = "nobody KILLED anything" }));
        var pattern = await Assert.ThrowsAsync<ContentBlockedException>(async () => await client.SubmitAsync(Request("killing time")));

        Assert.Equal(("negativePrompt", "Not on this service."), (negative.Field, negative.Reason));
        Assert.Equal("prompt", pattern.Field);
        Assert.True((await client.SubmitAsync(Request("skillful painting"))).Created);
    }

    [Fact]
    public async Task SubmitAsync_PatternThatRunsOutOfTime_RefusesRatherThanLetItThrough()
    {
        var client = Client(m => m.AddBlockedTermsModerator(o =>
        {
            o.Patterns.Add("^(a+)+$");
            o.PatternTimeout = TimeSpan.FromMilliseconds(1);
        }));

        await Assert.ThrowsAsync<ContentBlockedException>(async () => await client.SubmitAsync(Request(new string('a', 60) + "!")));
        Assert.Equal(25, await Ledger.GetBalanceAsync("alice"));
    }

    [Fact]
    public async Task SubmitAsync_SeveralModerators_RunInOrderAndTheFirstRefusalStops()
    {
        var calls = new List<string>();
        var first = new RecordingModerator("first", calls, block: false);
        var second = new RecordingModerator("second", calls, block: true);
        var third = new RecordingModerator("third", calls, block: true);
        var client = Client(m => m.AddContentModerator(first).AddContentModerator(second).AddContentModerator(third));

        var refused = await Assert.ThrowsAsync<ContentBlockedException>(async () => await client.SubmitAsync(Request("anything")));

        Assert.Equal("second", refused.Moderator);
        Assert.Equal(["first", "second"], calls);
    }

    [Theory]
    [InlineData("\u200B\u200C\u200D")]
    [InlineData(" \u2060\uFEFF\t")]
    public async Task SubmitAsync_PromptOfOnlyInvisibleCharacters_RefusedAsBlank(string prompt)
    {
        var client = Client(_ => { });

        var refused = await Assert.ThrowsAsync<RequestValidationException>(async () => await client.SubmitAsync(Request(prompt)));

        Assert.Contains("prompt", refused.Errors.Keys);
        Assert.Equal(25, await Ledger.GetBalanceAsync("alice"));
    }

    [Fact]
    public void Start_InvalidPattern_FailsValidationNamingIt()
    {
        _services = new ServiceCollection()
            .AddMediaGeneration()
            .AddBlockedTermsModerator(o => o.Patterns.Add("(unclosed"))
            .Services.BuildServiceProvider();

        var failure = Assert.Throws<OptionsValidationException>(() => _services.GetRequiredService<IOptions<BlockedTermsModeratorOptions>>().Value);

        Assert.Contains("Patterns[0]", failure.Message, StringComparison.Ordinal);
    }

    private IJobStore Store => _services!.GetRequiredService<IJobStore>();

    private ICreditLedger Ledger => _services!.GetRequiredService<ICreditLedger>();

    private IMediaGenerationClient Client(Action<IMediaGenerationBuilder> moderation)
    {
        var builder = new ServiceCollection()
            .AddSingleton<TimeProvider>(new FakeTimeProvider())
            .AddMediaGeneration()
            .UseQueue(_ => _queue)
            .ConfigureCredits(o => o.InitialBalance = 25)
            .AddGenerator(_generator);
        moderation(builder);
        _services = builder.Services.BuildServiceProvider();
        return _services.GetRequiredService<IMediaGenerationClient>();
    }

    private GenerationRequest Request(string prompt) => new() { Prompt = prompt, Model = _generator.ModelId, OwnerId = "alice" };

    private sealed class RecordingModerator(string name, List<string> calls, bool block) : IContentModerator
    {
        public string Name => name;

        public ValueTask<ModerationResult> ModerateAsync(GenerationRequest request, CancellationToken cancellationToken = default)
        {
            calls.Add(name);
            return ValueTask.FromResult(block ? ModerationResult.Blocked("prompt", $"{name} says no.") : ModerationResult.Allowed);
        }
    }

    /// <summary>A model that takes negative prompts, at 10 credits an output.</summary>
    private sealed class NegativePromptGenerator : IMediaGenerator
    {
        public string ModelId => "unit-model";

        public string Name => "unit";

        public IReadOnlyList<ModelDescriptor> Models { get; } = [new ModelDescriptor { Id = "unit-model", CostCredits = 10, Settings = new ModelSettingsRules { SupportsNegativePrompt = true } }];

        public ValueTask<GenerationResult> GenerateAsync(GenerationContext context, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(new GenerationResult([]));
    }
}
