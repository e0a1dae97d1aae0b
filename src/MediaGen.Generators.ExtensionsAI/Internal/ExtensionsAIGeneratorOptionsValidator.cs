using Microsoft.Extensions.Options;

namespace MediaGen.Generators.ExtensionsAI.Internal;

/// <summary>Validates <see cref="ExtensionsAIGeneratorOptions"/>' data annotations at start-up.</summary>
[OptionsValidator]
internal sealed partial class ExtensionsAIGeneratorOptionsValidator : IValidateOptions<ExtensionsAIGeneratorOptions>
{
}

/// <summary>Validates the models of every named <see cref="ExtensionsAIGeneratorOptions"/> at start-up, naming each key.</summary>
internal sealed class ExtensionsAIModelsValidator : IValidateOptions<ExtensionsAIGeneratorOptions>
{
    public ValidateOptionsResult Validate(string? name, ExtensionsAIGeneratorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ImageModelCatalog.Build(name ?? Options.DefaultName, options, out var errors);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>Marks an image generator name as taken, so a second registration under it is refused.</summary>
/// <param name="Name">The generator's name.</param>
internal sealed record ImageGeneratorRegistration(string Name);

/// <summary>Validates <see cref="MediaGenImageGeneratorOptions"/>' data annotations at start-up.</summary>
[OptionsValidator]
internal sealed partial class MediaGenImageGeneratorOptionsValidator : IValidateOptions<MediaGenImageGeneratorOptions>
{
}
