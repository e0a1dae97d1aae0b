using System.Runtime.InteropServices;

namespace MediaGen.Core.Tests.Storage;

/// <summary>
/// The file-system storage's Linux writes on their own: the storage's suites pass whether they are used or not (a failed
/// call falls back to .NET's file API), so these check that each call does what it says. The suite runs on Linux x64.
/// </summary>
public sealed class LinuxFilesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mediagen-linux-files-").FullName;

    public LinuxFilesTests() => Assert.True(LinuxFiles.IsSupported, "These tests run on Linux x64 or Arm64.");

    [Fact]
    public void IsSupported_OnlyOnLinuxX64AndArm64()
    {
        Assert.Equal(OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64, LinuxFiles.IsSupported);
    }

    [Fact]
    public void TryWriteNew_NewFile_HoldsTheContent_AndAFileThatExistsIsRefusedAndKept()
    {
        var path = Path.Combine(_dir, "a.meta");

        Assert.True(LinuxFiles.TryWriteNew(path, "image/png\nowner=x\n"u8));
        Assert.False(LinuxFiles.TryWriteNew(path, "other"u8));

        Assert.Equal("image/png\nowner=x\n"u8.ToArray(), File.ReadAllBytes(path));
    }

    [Fact]
    public void TryWriteNew_EmptyContent_MakesAnEmptyFile()
    {
        var path = Path.Combine(_dir, "empty");

        Assert.True(LinuxFiles.TryWriteNew(path, []));

        Assert.Equal(0, new FileInfo(path).Length);
    }

    [Fact]
    public void TryCreateNew_FileWrittenThroughTheHandle_HoldsTheContent_AndAMissingFolderIsRefusedWithNothingMade()
    {
        var path = Path.Combine(_dir, "0.png.tmp");
        Assert.True(LinuxFiles.TryCreateNew(path, out var handle));
        using (handle)
        {
            RandomAccess.Write(handle, new byte[] { 1, 2, 3 }, 0);
        }

        Assert.False(LinuxFiles.TryCreateNew(Path.Combine(_dir, "missing", "0.png.tmp"), out var none));

        Assert.Null(none);
        Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(path));
        Assert.False(Directory.Exists(Path.Combine(_dir, "missing")));
    }

    [Fact]
    public void TryReplace_OverAFile_ReplacesIt_AndOverAFolder_IsRefusedWithBothKept()
    {
        var source = Path.Combine(_dir, "new.tmp");
        var target = Path.Combine(_dir, "0.png");
        File.WriteAllBytes(source, [7]);
        File.WriteAllBytes(target, [1]);
        var folder = Directory.CreateDirectory(Path.Combine(_dir, "folder")).FullName;
        File.WriteAllBytes(Path.Combine(folder, "inside"), [2]);

        Assert.True(LinuxFiles.TryReplace(source, target));
        File.WriteAllBytes(source, [8]);
        Assert.False(LinuxFiles.TryReplace(source, folder));

        Assert.Equal(new byte[] { 7 }, File.ReadAllBytes(target));
        Assert.Equal(new byte[] { 8 }, File.ReadAllBytes(source));
        Assert.Equal(new byte[] { 2 }, File.ReadAllBytes(Path.Combine(folder, "inside")));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
