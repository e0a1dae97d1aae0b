using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace MediaGen.Internal;

/// <summary>
/// The file-system storage's writes, and the opens of the files it serves, made on Linux with the system calls they need
/// and no more. .NET's file API adds to
/// each new file an exclusive <c>flock</c> when it is opened and its release when it is closed (its emulation of
/// <see cref="FileShare.None"/>), an <c>lseek</c> that asks whether the file can seek, and an <c>lstat</c> before the
/// file is renamed into place. With an output and its sidecar, saving an output took 17 calls; this way it takes 10
/// (counted with strace; the one <c>lseek</c> left is .NET's, where it writes an output's content, and taking it out too
/// measured no difference). Where a call into the kernel costs microseconds, as on a virtual machine, that is a third of
/// a small output's save: 46 µs against 32 µs of CPU per save, in a loop on the development machine. A file opened to
/// be read gets a shared <c>flock</c> and its release the same way, which <see cref="TryOpenRead"/> leaves out.
/// </summary>
/// <remarks>
/// Each method says false, with nothing left behind, when its call fails; the caller then does the same through .NET's
/// API, which raises the exception .NET gives for that failure (or succeeds, if the cause has passed). So errors read
/// exactly as they do without this class. The flag values are Linux's on x64 and Arm64 (the generic ABI); any other
/// system or processor uses .NET's API only.
/// </remarks>
internal static partial class LinuxFiles
{
    private const int ReadOnly = 0x0;
    private const int WriteOnly = 0x1;
    private const int Create = 0x40;
    private const int Exclusive = 0x80;
    private const int CloseOnExec = 0x80000;
    private const int ReadWriteForAll = 0x1B6; // 0666, narrowed by the process's umask as .NET's own files are

    /// <summary>Whether this process may use these calls.</summary>
    public static bool IsSupported { get; } = OperatingSystem.IsLinux()
        && RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64;

    /// <summary>Creates <paramref name="path"/>, which must not exist, for writing; false when that fails (nothing is created).</summary>
    public static bool TryCreateNew(string path, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SafeFileHandle? handle) =>
        TryOwn(OpenNew(path), out handle);

    /// <summary>Opens <paramref name="path"/> for reading; false when that fails (a missing file, for one).</summary>
    /// <remarks>A folder opens too, as it does with the system's call: the caller tells one from a file.</remarks>
    public static bool TryOpenRead(string path, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SafeFileHandle? handle) =>
        TryOwn(Open(path, ReadOnly | CloseOnExec, 0), out handle);

    /// <summary>
    /// Creates <paramref name="path"/>, which must not exist, holding <paramref name="content"/>; false when any step
    /// fails, and then the file is removed again.
    /// </summary>
    public static bool TryWriteNew(string path, ReadOnlySpan<byte> content)
    {
        var fd = OpenNew(path);
        if (fd < 0)
        {
            return false;
        }

        var written = WriteAll(fd, content, 0);
        if (Close(fd) == 0 && written)
        {
            return true;
        }

        _ = Unlink(path);
        return false;
    }

    /// <summary>Renames <paramref name="source"/> over <paramref name="destination"/> in one step; false when that fails (nothing moved).</summary>
    public static bool TryReplace(string source, string destination) => Rename(source, destination) == 0;

    /// <summary>Wraps an opened descriptor in a handle that closes it; false for the -1 of a failed open.</summary>
    private static bool TryOwn(int fd, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SafeFileHandle? handle)
    {
        handle = fd < 0 ? null : new SafeFileHandle(fd, ownsHandle: true);
        return handle is not null;
    }

    /// <summary>Opens a new file for writing, failing if it exists; the descriptor, or -1.</summary>
    private static int OpenNew(string path) => Open(path, WriteOnly | Create | Exclusive | CloseOnExec, ReadWriteForAll);

    private static bool WriteAll(int fd, ReadOnlySpan<byte> content, long offset)
    {
        while (!content.IsEmpty)
        {
            var n = PWrite(fd, content, content.Length, offset);
            if (n <= 0)
            {
                return false;
            }

            content = content[(int)n..];
            offset += n;
        }

        return true;
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "pwrite")]
    private static partial nint PWrite(int fd, ReadOnlySpan<byte> buffer, nint count, long offset);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "rename", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Rename(string source, string destination);

    [LibraryImport("libc", EntryPoint = "unlink", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Unlink(string path);
}
