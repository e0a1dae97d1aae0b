namespace MediaGen.Internal;

/// <summary>Maps model ids to the generator serving them; two generators serving one model id is a start-up error.</summary>
internal sealed class GeneratorCatalog
{
    private readonly Dictionary<string, (IMediaGenerator Generator, ModelDescriptor Model)> _models = new(StringComparer.Ordinal);

    public GeneratorCatalog(IEnumerable<IMediaGenerator> generators)
    {
        ArgumentNullException.ThrowIfNull(generators);
        var models = new List<ModelDescriptor>();
        foreach (var generator in generators)
        {
            foreach (var model in generator.Models)
            {
                if (_models.TryGetValue(model.Id, out var existing))
                {
                    throw new InvalidOperationException(
                        $"Model '{model.Id}' is served by both the '{existing.Generator.Name}' and the '{generator.Name}' generators; give one of them another model id.");
                }

                _models[model.Id] = (generator, model);
                models.Add(model);
            }
        }

        Models = models;
    }

    public IReadOnlyList<ModelDescriptor> Models { get; }

    public bool TryGet(string modelId, out IMediaGenerator generator, out ModelDescriptor model)
    {
        if (_models.TryGetValue(modelId, out var entry))
        {
            (generator, model) = entry;
            return true;
        }

        generator = null!;
        model = null!;
        return false;
    }
}
