namespace MediaGen.AspNetCore.Internal;

/// <summary>A request the API refuses before MediaGen sees it: malformed JSON, a body too large, a wrong content type.</summary>
internal sealed class ApiRequestException(int statusCode, string code, string title, string detail, IReadOnlyDictionary<string, string[]>? errors = null)
    : Exception(detail)
{
    public int StatusCode { get; } = statusCode;

    public string Code { get; } = code;

    public string Title { get; } = title;

    public string Detail => Message;

    public IReadOnlyDictionary<string, string[]>? Errors { get; } = errors;
}
