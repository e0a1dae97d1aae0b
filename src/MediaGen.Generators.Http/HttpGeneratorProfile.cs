namespace MediaGen.Generators.Http;

/// <summary>Who an HTTP provider is, in the words its messages and configuration paths use.</summary>
public sealed record HttpGeneratorProfile
{
    /// <summary>The provider's name in messages, for example <c>Replicate</c>.</summary>
    public required string DisplayName { get; init; }

    /// <summary>The configuration section its options are documented under, for example <c>MediaGen:Generators:Replicate</c>.</summary>
    public required string ConfigurationSection { get; init; }

    /// <summary>What <see cref="HttpGeneratorOptions.ApiToken"/> holds, for example <c>a Replicate API token</c>.</summary>
    public required string ApiTokenDescription { get; init; }

    /// <summary>An example base URL for the validation message, for example <c>https://api.replicate.com/</c>.</summary>
    public required string BaseUrlExample { get; init; }

    /// <summary>What a model reference looks like, for example <c>'owner/name' (for example 'black-forest-labs/flux-schnell')</c>.</summary>
    public required string ModelReferenceDescription { get; init; }

    /// <summary>How long a generation usually takes when a model does not say.</summary>
    public TimeSpan DefaultExpectedDuration { get; init; } = TimeSpan.FromSeconds(10);
}
