using System.Globalization;
using MediaGen.Internal;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Net.Http.Headers;

namespace MediaGen.AspNetCore.Internal;

/// <summary>
/// Serves file-system outputs at the storage's public path under the signed, expiring URLs it hands out. A request
/// without a valid, unexpired signature for its key gets the same 404 as a missing file, so a URL reveals nothing
/// about which outputs exist. The signature is the credential: the endpoint sits outside the API group's policies.
/// </summary>
internal static class MediaEndpoint
{
    /// <summary>Maps the endpoint when the storage is the file system served at a path of this host; else does nothing.</summary>
    public static void MapIfServedHere(IEndpointRouteBuilder endpoints)
    {
        if (endpoints.ServiceProvider.GetRequiredService<IMediaStorage>() is not FileSystemMediaStorage storage)
        {
            return;
        }

        var path = Uri.TryCreate(storage.PublicBaseUrl, UriKind.Absolute, out var absolute) ? absolute.AbsolutePath : storage.PublicBaseUrl;
        if (!path.StartsWith('/'))
        {
            return;
        }

        // The key is optional in the binding: a required one makes the framework answer a bare 400 to the path alone
        // (/media/), where any other URL without an output is the 404 below.
        endpoints.MapMethods(path + "{**key}", [HttpMethods.Get, HttpMethods.Head], (HttpContext http, string? key, TimeProvider time) => Serve(http, storage, key, time))
            .ExcludeFromDescription();
    }

    /// <summary>
    /// The policy every answer of the endpoint carries: the output is shown as an image or video, or downloaded, but
    /// never runs as a document of the API's origin (no script, no plugin, no requests, a unique origin), whatever type
    /// a model managed to give it.
    /// </summary>
    internal const string ContentSecurityPolicy = "default-src 'none'; sandbox";

    private static IResult Serve(HttpContext http, FileSystemMediaStorage storage, string? key, TimeProvider time)
    {
        // Outputs are served on the API's own origin: the browser must take the stored type as it is (nosniff) and must
        // not run anything in it (the sandbox), so a model's output can never be stored cross-site scripting.
        http.Response.Headers[HeaderNames.XContentTypeOptions] = "nosniff";
        http.Response.Headers[HeaderNames.ContentSecurityPolicy] = ContentSecurityPolicy;
        var query = http.Request.Query;
        if (string.IsNullOrEmpty(key) || !storage.Signature.IsValid(key, query[MediaUrlSignature.ExpiresParameter], query[MediaUrlSignature.SignatureParameter], time.GetUtcNow()))
        {
            return NotFound();
        }

        ServedObject? served;
        try
        {
            served = storage.OpenToServe(key);
        }
        catch (InvalidStorageKeyException)
        {
            return NotFound();
        }

        if (served is null)
        {
            return NotFound();
        }

        // Validators as a static file server sends them, so a client that kept the output asks again with them and gets a
        // 304 without the body. A retry that stores the output anew replaces the file, and with it the time and the tag.
        http.Response.Headers[HeaderNames.CacheControl] = "private, max-age=300";
        var tag = new EntityTagHeaderValue(string.Create(CultureInfo.InvariantCulture, $"\"{served.LastModified.UtcTicks ^ served.Content.Length:x}\""));
        return TypedResults.Stream(served.Content, served.ContentType, lastModified: served.LastModified, entityTag: tag, enableRangeProcessing: true);
    }

    private static ProblemResult NotFound() => ProblemResponses.Problem(
        StatusCodes.Status404NotFound, MediaGenErrorCodes.StorageObjectNotFound, "Not found.", "No output is served at this URL, or its link expired.");
}
