namespace MediaGen.Generators.Http.Tests;

/// <summary>The options of a made-up provider, Acme, for the kit's tests.</summary>
internal sealed class AcmeOptions() : HttpGeneratorOptions<GeneratorModelOptions>(new Uri("https://api.acme.example/"), TimeSpan.FromMinutes(5))
{
    private static readonly HttpGeneratorProfile AcmeProfile = new()
    {
        DisplayName = "Acme",
        ConfigurationSection = "MediaGen:Generators:Acme",
        ApiTokenDescription = "an Acme API key",
        BaseUrlExample = "https://api.acme.example/",
        ModelReferenceDescription = "'owner/name'",
    };

    protected internal override HttpGeneratorProfile Profile => AcmeProfile;

    protected internal override Dictionary<string, GeneratorModelOptions> CreateBuiltInModels() => [];
}
