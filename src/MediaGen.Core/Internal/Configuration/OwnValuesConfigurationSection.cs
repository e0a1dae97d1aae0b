using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Primitives;

namespace MediaGen.Internal;

/// <summary>
/// A section seen without its sub-sections: <c>MediaGen</c> holds MediaGen's own values beside the sections of the
/// components that bind themselves (<c>MediaGen:Worker</c>, <c>MediaGen:Redis</c>), so binding it with
/// <see cref="BinderOptions.ErrorOnUnknownConfiguration"/> must see only the values. The binder's own key check then names
/// an unknown value, with no reflection over the options type.
/// </summary>
internal sealed class OwnValuesConfigurationSection(IConfigurationSection section) : IConfigurationSection
{
    public string Key => section.Key;

    public string Path => section.Path;

    public string? Value
    {
        get => section.Value;
        set => section.Value = value;
    }

    public string? this[string key]
    {
        get => section[key];
        set => section[key] = value;
    }

    public IEnumerable<IConfigurationSection> GetChildren() =>
        section.GetChildren().Where(static child => child.Value is not null || !child.GetChildren().Any());

    public IConfigurationSection GetSection(string key) => section.GetSection(key);

    public IChangeToken GetReloadToken() => section.GetReloadToken();
}
