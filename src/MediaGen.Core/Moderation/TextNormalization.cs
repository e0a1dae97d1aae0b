using System.Globalization;
using System.Text;

namespace MediaGen.Internal;

/// <summary>How moderation and validation read text: as a person would see it.</summary>
internal static class TextNormalization
{
    /// <summary>Whether <paramref name="text"/> has any character a person would see (not white space, not an invisible format or control character).</summary>
    public static bool HasVisibleText(string? text)
    {
        if (text is null)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (!char.IsWhiteSpace(c) && !IsInvisible(c))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Lower case, accents removed, invisible formatting characters (zero-width spaces and joiners, soft hyphens, byte
    /// order marks, bidirectional marks) removed, and white space runs made one space.
    /// </summary>
    public static string ForMatching(string text)
    {
        var decomposed = text.Normalize(NormalizationForm.FormKD);
        var builder = new StringBuilder(decomposed.Length);
        var space = false;
        foreach (var c in decomposed)
        {
            if (IsInvisible(c) || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.NonSpacingMark)
            {
                continue;
            }

            if (char.IsWhiteSpace(c))
            {
                space = builder.Length > 0;
                continue;
            }

            if (space)
            {
                builder.Append(' ');
                space = false;
            }

            builder.Append(char.ToLowerInvariant(c));
        }

        return builder.ToString();
    }

    private static bool IsInvisible(char c) =>
        char.IsControl(c) || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format;
}
