using System.Collections;
using System.ComponentModel.DataAnnotations;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace MediaGen.Samples.Hosting;

/// <summary>
/// Checks configuration sections against options types before the host starts, so every error names its full key
/// (<c>MediaGen:Worker:Concurrency</c>), not only the property: unknown keys, values that do not convert, and
/// DataAnnotations rules.
/// </summary>
public sealed class ConfigurationChecker
{
    private readonly List<string> _errors = [];

    /// <summary>The problems found so far, each starting with its configuration key.</summary>
    public IReadOnlyList<string> Errors => _errors;

    /// <summary>Records a problem as "<paramref name="key"/> <paramref name="message"/>".</summary>
    /// <param name="key">The configuration key.</param>
    /// <param name="message">What is wrong and what to do, phrased to follow the key (for example "has the unknown value 'x'; use ...").</param>
    public void Add(string key, string message) => _errors.Add($"{key} {message}");

    /// <summary>Throws <see cref="MediaGenConfigurationException"/> when any problem was found.</summary>
    /// <exception cref="MediaGenConfigurationException">At least one problem was found.</exception>
    public void ThrowIfInvalid()
    {
        if (_errors.Count > 0)
        {
            throw new MediaGenConfigurationException(_errors.ToArray());
        }
    }

    /// <summary>
    /// Checks that <paramref name="section"/> only holds keys of <typeparamref name="TOptions"/> (or
    /// <paramref name="extraKeys"/>), that its values convert, and that the bound options pass their DataAnnotations rules.
    /// </summary>
    /// <typeparam name="TOptions">The options type the section binds to.</typeparam>
    /// <param name="section">The section; a missing section is fine (defaults apply).</param>
    /// <param name="extraKeys">Keys the host reads itself, such as <c>Enabled</c>.</param>
    /// <returns>The bound options, or null when the values do not convert.</returns>
    public TOptions? Check<TOptions>(IConfigurationSection section, params string[] extraKeys)
        where TOptions : class, new()
    {
        ArgumentNullException.ThrowIfNull(section);
        CheckKeys(section, typeof(TOptions), extraKeys);
        var options = new TOptions();
        try
        {
            section.Bind(options);
        }
        catch (InvalidOperationException e)
        {
            // The binder names the path: "Failed to convert configuration value at 'MediaGen:Worker:Concurrency' to type 'System.Int32'."
            _errors.Add(e.Message + (e.InnerException is { } inner ? " " + inner.Message : string.Empty));
            return null;
        }

        Validate(options, section.Path);
        return options;
    }

    /// <summary>Checks that <paramref name="section"/> holds no key outside <paramref name="allowedKeys"/>.</summary>
    /// <param name="section">The section.</param>
    /// <param name="allowedKeys">The keys allowed (case-insensitive).</param>
    public void CheckOnly(IConfigurationSection section, params string[] allowedKeys)
    {
        ArgumentNullException.ThrowIfNull(section);
        foreach (var child in section.GetChildren())
        {
            if (!allowedKeys.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            {
                Add(child.Path, $"is not a known setting. Known settings under {section.Path}: {string.Join(", ", allowedKeys)}.");
            }
        }
    }

    private void CheckKeys(IConfigurationSection section, Type type, IReadOnlyCollection<string> extraKeys)
    {
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite || IsComplex(p.PropertyType)).ToArray();
        foreach (var child in section.GetChildren())
        {
            if (extraKeys.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }

            var property = properties.FirstOrDefault(p => string.Equals(p.Name, child.Key, StringComparison.OrdinalIgnoreCase));
            if (property is null)
            {
                var known = properties.Select(p => p.Name).Concat(extraKeys).Order(StringComparer.Ordinal);
                Add(child.Path, $"is not a known setting. Known settings under {section.Path}: {string.Join(", ", known)}.");
            }
            else if (IsComplex(property.PropertyType))
            {
                CheckKeys(child, property.PropertyType, []);
            }
        }
    }

    private void Validate(object options, string path)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        foreach (var result in results)
        {
            var members = result.MemberNames.Any() ? result.MemberNames : [string.Empty];
            foreach (var member in members)
            {
                _errors.Add($"{(member.Length == 0 ? path : $"{path}:{member}")}: {result.ErrorMessage ?? "is invalid."}");
            }
        }

        foreach (var property in options.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetCustomAttribute<ValidateObjectMembersAttribute>() is not null && property.GetValue(options) is { } nested)
            {
                Validate(nested, $"{path}:{property.Name}");
            }
        }
    }

    private static bool IsComplex(Type type) =>
        type.IsClass && type != typeof(string) && type != typeof(Uri) && !typeof(IEnumerable).IsAssignableFrom(type);
}
