namespace MediaGen.TestSupport;

/// <summary>A fresh directory under the system's temporary directory, deleted with everything in it on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    /// <summary>Creates the directory.</summary>
    /// <param name="purpose">A word for the directory's name, for finding leftovers.</param>
    public TempDirectory(string purpose = "tests")
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"mediagen-{purpose}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    /// <summary>The directory's full path.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }
}
