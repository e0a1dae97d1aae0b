using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace MediaGen.Samples.Api;

/// <summary>
/// What the sample adds to the OpenAPI document the package's endpoints describe: the host's own security scheme (its
/// API key, in <c>X-Api-Key</c> or as a bearer token) required on every operation, descriptions of the package's tags,
/// the license, and server URLs without a trailing slash.
/// </summary>
internal sealed class SampleOpenApi : IOpenApiDocumentTransformer
{
    public const string SecuritySchemeName = "ApiKey";

    private static readonly Dictionary<string, string> TagDescriptions = new(StringComparer.Ordinal)
    {
        ["Generations"] = "Submit image generations, follow them (including server-sent events), cancel, retry and delete them.",
        ["Catalog"] = "The models this host offers, what each output costs and the settings each accepts.",
        ["Credits"] = "The caller's credit balance; generations are charged per output and refunded for what is not delivered.",
    };

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info.License = new OpenApiLicense { Name = "MIT", Identifier = "MIT" };
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>(StringComparer.Ordinal);
        document.Components.SecuritySchemes[SecuritySchemeName] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey,
            In = ParameterLocation.Header,
            Name = "X-Api-Key",
            Description = "One of the keys in `SampleApi:ApiKeys` (also accepted as `Authorization: Bearer <key>`). " +
                "Without configured keys every request acts as the demo owner.",
        };
        document.Security ??= [];
        document.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(SecuritySchemeName, document)] = [] });
        foreach (var tag in document.Tags ?? new HashSet<OpenApiTag>())
        {
            if (tag.Name is { } name && TagDescriptions.TryGetValue(name, out var description))
            {
                tag.Description ??= description;
            }
        }

        foreach (var server in document.Servers ?? [])
        {
            server.Url = server.Url?.TrimEnd('/');
        }

        return Task.CompletedTask;
    }
}
