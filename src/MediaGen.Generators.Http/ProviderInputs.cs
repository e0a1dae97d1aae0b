using System.Text.Json.Nodes;

namespace MediaGen.Generators.Http;

/// <summary>Builds the parts of a provider's JSON input that most providers name alike.</summary>
public static class ProviderInputs
{
    /// <summary>
    /// Writes the request's seed as <c>seed</c>, its negative prompt as <c>negative_prompt</c>, and each model-specific
    /// parameter under its provider input name (<see cref="ProviderModel{TModel}.ParameterInputs"/>, else its own name).
    /// </summary>
    /// <param name="target">The provider's input object.</param>
    /// <param name="parameterInputs">MediaGen parameter name to the provider's input name.</param>
    /// <param name="request">The request.</param>
    public static void AddCommon(JsonObject target, IReadOnlyDictionary<string, string> parameterInputs, GenerationRequest request)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(parameterInputs);
        ArgumentNullException.ThrowIfNull(request);
        if (request.Settings?.Seed is { } seed)
        {
            target["seed"] = seed;
        }

        if (request.NegativePrompt is { } negative)
        {
            target["negative_prompt"] = negative;
        }

        if (request.Parameters is { } parameters)
        {
            foreach (var (name, value) in parameters)
            {
                target[parameterInputs.GetValueOrDefault(name, name)] = JsonNode.Parse(value.GetRawText());
            }
        }
    }
}
