using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace MediaGen.Internal;

/// <summary>
/// The metadata stored with each of a job's outputs and thumbnails: <c>job-id</c>, <c>owner</c> and <c>model</c>, over the
/// job's own strings. It cannot change, so the storage may keep it as it is, and a job's outputs share one small object
/// instead of a hash table of their own (about 230 bytes per job less).
/// </summary>
internal sealed class OutputMetadata(string jobId, string ownerId, string model) : IReadOnlyDictionary<string, string>
{
    private static readonly string[] Names = ["job-id", "owner", "model"];

    public int Count => Names.Length;

    public IEnumerable<string> Keys => Names;

    public IEnumerable<string> Values => [jobId, ownerId, model];

    public string this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"The output metadata has no key '{key}'.");

    /// <summary>The metadata of <paramref name="job"/>'s outputs.</summary>
    public static OutputMetadata For(GenerationJob job) => new(job.Id, job.OwnerId, job.Request.Model);

    public bool ContainsKey(string key) => Array.IndexOf(Names, key) >= 0;

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out string value)
    {
        var index = Array.IndexOf(Names, key);
        value = index >= 0 ? Value(index) : null;
        return index >= 0;
    }

    public IEnumerator<KeyValuePair<string, string>> GetEnumerator()
    {
        for (var i = 0; i < Names.Length; i++)
        {
            yield return new KeyValuePair<string, string>(Names[i], Value(i));
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private string Value(int index) => index switch
    {
        0 => jobId,
        1 => ownerId,
        _ => model,
    };
}
