namespace MediaGen;

/// <summary>
/// The stable <c>code</c> values the HTTP API puts on problem responses for errors of the request itself; errors of the
/// operation carry the codes of <see cref="MediaGenErrorCodes"/>.
/// </summary>
public static class MediaGenerationApiErrorCodes
{
    /// <summary>The body is not JSON, or not JSON of the expected shape (400).</summary>
    public const string MalformedJson = "malformed_json";

    /// <summary>The body is larger than <see cref="MediaGenerationApiOptions.MaxRequestBodyBytes"/> (413).</summary>
    public const string RequestTooLarge = "request_too_large";

    /// <summary>The body's content type is not JSON (415).</summary>
    public const string UnsupportedMediaType = "unsupported_media_type";

    /// <summary>The request is malformed in another way: a bad header, a truncated body (400).</summary>
    public const string BadRequest = "bad_request";

    /// <summary>The request carries no authenticated owner (401).</summary>
    public const string Unauthenticated = "unauthenticated";

    /// <summary>No endpoint of the API has this path (404).</summary>
    public const string RouteNotFound = "route_not_found";

    /// <summary>The path exists, but not for this method (405); the <c>Allow</c> header lists the methods it takes.</summary>
    public const string MethodNotAllowed = "method_not_allowed";

    /// <summary>An unexpected error inside the server (500); its details are logged, not returned.</summary>
    public const string InternalError = MediaGenErrorCodes.InternalError;

    /// <summary>The dashboard has no authorization policy and the request is not local (403).</summary>
    public const string DashboardLocalOnly = "dashboard_local_only";

    /// <summary>A dashboard action came without a valid antiforgery token (400).</summary>
    public const string AntiforgeryFailed = "antiforgery_failed";

    /// <summary>No dead letter with that message id (404).</summary>
    public const string DeadLetterNotFound = "dead_letter_not_found";
}
