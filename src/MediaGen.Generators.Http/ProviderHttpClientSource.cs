namespace MediaGen.Generators.Http;

/// <summary>
/// Where a provider generator with options <typeparamref name="TOptions"/> gets its <see cref="HttpClient"/>: from
/// <see cref="IHttpClientFactory"/> by name, or the caller's own client, which MediaGen never disposes.
/// </summary>
/// <typeparam name="TOptions">The provider's options, which tell providers apart.</typeparam>
/// <param name="create">Returns the client for one call.</param>
public sealed class ProviderHttpClientSource<TOptions>(Func<HttpClient> create)
    where TOptions : HttpGeneratorOptions
{
    /// <summary>Returns the client for one call.</summary>
    /// <returns>The client; never disposed by the caller.</returns>
    public HttpClient Create() => create();
}
