using System.Collections;
using System.ComponentModel.DataAnnotations;
using System.Globalization;

namespace MediaGen.Shared;

/// <summary>
/// <see cref="RangeAttribute"/> for a <see cref="TimeSpan"/> option, without the type converters that
/// <c>[Range(typeof(TimeSpan), ...)]</c> reaches through reflection (trimming and Native AOT warn about it). Bounds are
/// inclusive, written in the invariant <c>c</c> format (<c>[d.]hh:mm:ss[.fffffff]</c>); the error message is
/// <see cref="RangeAttribute"/>'s. Compiled into each package that needs it (linked source), so it adds nothing to any
/// public API; the options validator source generator constructs it like any other validation attribute.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field | AttributeTargets.Parameter, AllowMultiple = false)]
internal sealed class TimeSpanRangeAttribute : ValidationAttribute
{
    /// <param name="minimum">The smallest value allowed.</param>
    /// <param name="maximum">The largest value allowed.</param>
    public TimeSpanRangeAttribute(string minimum, string maximum)
        : base("The field {0} must be between {1} and {2}.")
    {
        Minimum = TimeSpan.ParseExact(minimum, "c", CultureInfo.InvariantCulture);
        Maximum = TimeSpan.ParseExact(maximum, "c", CultureInfo.InvariantCulture);
        if (Minimum > Maximum)
        {
            throw new ArgumentOutOfRangeException(nameof(maximum), maximum, "The maximum must not be below the minimum.");
        }
    }

    /// <summary>The smallest value allowed.</summary>
    public TimeSpan Minimum { get; }

    /// <summary>The largest value allowed.</summary>
    public TimeSpan Maximum { get; }

    /// <inheritdoc />
    public override bool IsValid(object? value) => value switch
    {
        null => true,
        TimeSpan time => time >= Minimum && time <= Maximum,
        _ => false,
    };

    /// <inheritdoc />
    public override string FormatErrorMessage(string name) =>
        string.Format(CultureInfo.CurrentCulture, ErrorMessageString, name, Minimum, Maximum);
}

/// <summary>
/// <see cref="MinLengthAttribute"/> for a string or collection option, without the reflection that
/// <see cref="MinLengthAttribute"/> uses to find a <c>Count</c> property (trimming and Native AOT warn about it). The
/// error message is <see cref="MinLengthAttribute"/>'s. Compiled into each package that needs it (linked source).
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field | AttributeTargets.Parameter, AllowMultiple = false)]
internal sealed class MinimumLengthAttribute : ValidationAttribute
{
    /// <param name="length">The fewest characters or items allowed.</param>
    public MinimumLengthAttribute(int length)
        : base("The field {0} must be a string or array type with a minimum length of '{1}'.")
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Length = length;
    }

    /// <summary>The fewest characters or items allowed.</summary>
    public int Length { get; }

    /// <inheritdoc />
    public override bool IsValid(object? value) => value switch
    {
        null => true,
        string text => text.Length >= Length,
        ICollection collection => collection.Count >= Length,
        IEnumerable items => items.Cast<object?>().Count() >= Length,
        _ => false,
    };

    /// <inheritdoc />
    public override string FormatErrorMessage(string name) =>
        string.Format(CultureInfo.CurrentCulture, ErrorMessageString, name, Length);
}
