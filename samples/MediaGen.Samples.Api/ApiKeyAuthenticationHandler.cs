using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace MediaGen.Samples.Api;

/// <summary>
/// The sample's authentication: an API key (<c>X-Api-Key</c> or <c>Authorization: Bearer</c>; the events stream also
/// takes <c>?apiKey=</c>, since a browser's EventSource cannot send headers) becomes a user whose NameIdentifier claim
/// is the key's owner, which is the claim MediaGen's API reads. With no keys configured, every caller is the demo owner.
/// A missing or unknown key leaves the request anonymous; the API then challenges this scheme, which answers 401 with
/// <c>WWW-Authenticate: Bearer</c>.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler : AuthenticationHandler<AuthenticationSchemeOptions>
{
    public const string SchemeName = "ApiKey";

    private readonly SampleApiOptions _sample;
    private readonly (byte[] Key, string Owner)[] _keys;

    public ApiKeyAuthenticationHandler(
        IOptionsMonitor<AuthenticationSchemeOptions> options,
        ILoggerFactory logger,
        UrlEncoder encoder,
        IOptions<SampleApiOptions> sample)
        : base(options, logger, encoder)
    {
        _sample = sample.Value;
        _keys = _sample.ApiKeys.Select(k => (Encoding.UTF8.GetBytes(k.Key), k.Value)).ToArray();
    }

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (_keys.Length == 0)
        {
            return Task.FromResult(Success(_sample.DemoOwnerId));
        }

        if (ReadKey() is not { } presented)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
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

        return Task.FromResult(owner is null ? AuthenticateResult.Fail("Unknown API key.") : Success(owner));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        return Task.CompletedTask;
    }

    private AuthenticateResult Success(string owner)
    {
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, owner)], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    private string? ReadKey()
    {
        var headers = Request.Headers;
        if (headers["X-Api-Key"].ToString() is { Length: > 0 } apiKey)
        {
            return apiKey;
        }

        var authorization = headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return authorization["Bearer ".Length..].Trim();
        }

        var allowQueryKey = Request.Path.Value?.EndsWith("/events", StringComparison.Ordinal) == true;
        return allowQueryKey && Request.Query["apiKey"].ToString() is { Length: > 0 } queryKey ? queryKey : null;
    }
}
