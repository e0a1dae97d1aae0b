using System.Text.Json.Nodes;
using MediaGen.Generators.Http;

namespace MediaGen.Generators.HuggingFace.Internal;

/// <summary>
/// Where and in what shape a text-to-image call goes through Hugging Face's router for each provider: hf-inference takes
/// <c>{"inputs", "parameters"}</c> at <c>hf-inference/models/{repository}</c>; fal-ai takes the parameters flat with
/// <c>prompt</c> at <c>fal-ai/{provider model}</c> (synchronously, <c>sync_mode</c>); together, nebius and nscale take
/// OpenAI-style image generations at <c>{provider}/v1/images/generations</c>, answered as base64.
/// </summary>
internal static class HuggingFaceRoutes
{
    public static (Uri Url, JsonObject Body) Build(Uri baseUrl, string provider, ProviderModel<HuggingFaceModelOptions> model, GenerationRequest request)
    {
        var parameters = Parameters(model, request);
        var providerModel = string.IsNullOrWhiteSpace(model.Options.ProviderModel) ? model.Repository : model.Options.ProviderModel;
        switch (provider)
        {
            case HuggingFaceGeneratorOptions.HfInference:
            {
                var body = new JsonObject { ["inputs"] = request.Prompt };
                if (parameters.Count > 0)
                {
                    body["parameters"] = parameters;
                }

                return (new Uri(baseUrl, $"hf-inference/models/{model.Repository}"), body);
            }

            case "fal-ai":
            {
                var body = new JsonObject { ["prompt"] = request.Prompt, ["sync_mode"] = true };
                if (parameters["width"] is { } width && parameters["height"] is { } height)
                {
                    parameters.Remove("width");
                    parameters.Remove("height");
                    body["image_size"] = new JsonObject { ["width"] = width.DeepClone(), ["height"] = height.DeepClone() };
                }

                if (request.Settings?.OutputFormat is { } format)
                {
                    body["output_format"] = format == OutputFormat.Png ? "png" : "jpeg";
                }

                Merge(body, parameters);
                return (new Uri(baseUrl, $"fal-ai/{providerModel}"), body);
            }

            default:
            {
                var body = new JsonObject { ["prompt"] = request.Prompt, ["model"] = providerModel };
                if (provider == "together" && parameters["num_inference_steps"] is { } steps)
                {
                    parameters.Remove("num_inference_steps");
                    parameters["steps"] = steps.DeepClone();
                }

                body["response_format"] = provider == "together" ? "base64" : "b64_json";
                Merge(body, parameters);
                return (new Uri(baseUrl, $"{provider}/v1/images/generations"), body);
            }
        }
    }

    /// <summary>The request's settings and parameters under the names Hugging Face's text-to-image task gives them.</summary>
    private static JsonObject Parameters(ProviderModel<HuggingFaceModelOptions> model, GenerationRequest request)
    {
        var settings = request.Settings ?? GenerationSettings.Default;
        var parameters = new JsonObject();
        if (settings.Width is { } width && settings.Height is { } height)
        {
            parameters["width"] = width;
            parameters["height"] = height;
        }

        ProviderInputs.AddCommon(parameters, model.ParameterInputs, request);
        return parameters;
    }

    private static void Merge(JsonObject body, JsonObject parameters)
    {
        foreach (var (name, value) in parameters.ToList())
        {
            body[name] = value?.DeepClone();
        }
    }
}
