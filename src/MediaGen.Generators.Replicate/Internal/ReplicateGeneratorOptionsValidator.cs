using Microsoft.Extensions.Options;

namespace MediaGen.Generators.Replicate.Internal;

/// <summary>Validates <see cref="ReplicateGeneratorOptions"/>' data annotations at start-up (the kit checks the token, base URL and catalog).</summary>
[OptionsValidator]
internal sealed partial class ReplicateGeneratorOptionsValidator : IValidateOptions<ReplicateGeneratorOptions>
{
}
