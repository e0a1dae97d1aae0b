using Microsoft.Extensions.Options;

namespace MediaGen.Generators.HuggingFace.Internal;

/// <summary>Validates <see cref="HuggingFaceGeneratorOptions"/>' data annotations at start-up (the kit checks the token, base URL and catalog).</summary>
[OptionsValidator]
internal sealed partial class HuggingFaceGeneratorOptionsValidator : IValidateOptions<HuggingFaceGeneratorOptions>
{
}
