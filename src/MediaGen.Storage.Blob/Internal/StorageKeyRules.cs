namespace MediaGen.Storage.Blob.Internal;

/// <summary>Argument checks shared by every operation: null is an argument error, the rest is <see cref="MediaStorageKeys"/>.</summary>
internal static class StorageKeyRules
{
    public static void Validate(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        MediaStorageKeys.Validate(key);
    }

    public static void ValidatePrefix(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        MediaStorageKeys.ValidatePrefix(prefix);
    }

    public static bool IsValidRootPrefix(string? prefix)
    {
        try
        {
            NormalizeRootPrefix(prefix);
            return true;
        }
        catch (InvalidStorageKeyException)
        {
            return false;
        }
    }

    /// <summary>Normalises a configured storage prefix: no leading or doubled <c>/</c> at the ends, one trailing <c>/</c> unless empty.</summary>
    public static string NormalizeRootPrefix(string? prefix)
    {
        var trimmed = (prefix ?? string.Empty).Trim('/');
        if (trimmed.Length == 0)
        {
            return string.Empty;
        }

        MediaStorageKeys.Validate(trimmed);
        return trimmed + "/";
    }
}
