using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using MediaGen.Shared;

namespace MediaGen;

/// <summary>Options for <c>UseFileSystemStorage</c>.</summary>
public sealed class FileSystemStorageOptions
{
    /// <summary>The directory outputs are written under; created when missing. Relative paths are relative to the current directory.</summary>
    /// <value>The default value is <c>.mediagen/media</c>.</value>
    [Required]
    public string RootPath { get; set; } = Path.Combine(".mediagen", "media");

    /// <summary>
    /// The URL the root is served from, such as <c>/media/</c> or <c>https://cdn.example.com/media/</c>; read URLs are
    /// this plus the key.
    /// </summary>
    /// <value>The default value is <c>/media/</c>.</value>
    [Required]
    public string PublicBaseUrl { get; set; } = "/media/";

    /// <summary>
    /// The secret read URLs are signed with (HMAC-SHA256 over the key and the expiry), at least 32 characters; every
    /// process serving or handing out URLs of one root needs the same one. Null signs with a random key made at start,
    /// so URLs stop working when the process restarts and another process cannot serve them: set one in production.
    /// </summary>
    /// <value>The default value is null.</value>
    [MinimumLength(32)]
    public string? UrlSigningKey { get; set; }

    /// <summary>How long a read URL works after it is handed out.</summary>
    /// <value>The default value is 1 hour.</value>
    [TimeSpanRange("00:00:01", "7.00:00:00")]
    public TimeSpan ReadUrlLifetime { get; set; } = TimeSpan.FromHours(1);
}

/// <summary>Validates <see cref="FileSystemStorageOptions"/> at start-up.</summary>
[OptionsValidator]
internal sealed partial class FileSystemStorageOptionsValidator : IValidateOptions<FileSystemStorageOptions>
{
}
