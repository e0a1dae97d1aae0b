using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

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
}

/// <summary>Validates <see cref="FileSystemStorageOptions"/> at start-up.</summary>
[OptionsValidator]
internal sealed partial class FileSystemStorageOptionsValidator : IValidateOptions<FileSystemStorageOptions>
{
}
