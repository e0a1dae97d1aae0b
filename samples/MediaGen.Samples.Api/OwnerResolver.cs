using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace MediaGen.Samples.Api;

/// <summary>
/// Maps a request to its owner: the owner of its API key (<c>X-Api-Key</c> or <c>Authorization: Bearer</c>; the events
/// stream also takes <c>?apiKey=</c>, since a browser's EventSource cannot send headers), or the demo owner when no
/// keys are configured.
/// </summary>
internal sealed class OwnerResolver(IOptions<SampleApiOptions> options)
{
    private const string OwnerItemKey = "MediaGen.Samples.Owner";
    private readonly (byte[] Key, string Owner)[] _keys =
        options.Value.ApiKeys.Select(k => (Encoding.UTF8.GetBytes(k.Key), k.Value)).ToArray();

    public bool RequiresKey => _keys.Length > 0;

    public static string GetOwner(HttpContext context) =>
        context.Items[OwnerItemKey] as string ?? throw new InvalidOperationException("The owner filter did not run for this endpoint.");

    public bool TryResolve(HttpContext context, bool allowQueryKey)
    {
        if (!RequiresKey)
        {
            context.Items[OwnerItemKey] = options.Value.DemoOwnerId;
            return true;
        }

        var presented = ReadKey(context, allowQueryKey);
        if (presented is null)
        {
            return false;
        }

        var bytes = Encoding.UTF8.GetBytes(presented);
        string? owner = null;
        foreach (var (key, candidate) in _keys)
        {
            // Compare every key in constant time so timing does not reveal how much of a key matched.
            if (CryptographicOperations.FixedTimeEquals(key, bytes))
            {
                owner = candidate;
            }
        }

        if (owner is null)
        {
            return false;
        }

        context.Items[OwnerItemKey] = owner;
        return true;
    }

    private static string? ReadKey(HttpContext context, bool allowQueryKey)
    {
        var headers = context.Request.Headers;
        if (headers["X-Api-Key"].ToString() is { Length: > 0 } apiKey)
        {
            return apiKey;
        }

        var authorization = headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return authorization["Bearer ".Length..].Trim();
        }

        return allowQueryKey && context.Request.Query["apiKey"].ToString() is { Length: > 0 } queryKey ? queryKey : null;
    }
}
