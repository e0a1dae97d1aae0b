namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Configures MediaGen; returned by <see cref="MediaGenerationServiceCollectionExtensions.AddMediaGeneration(IServiceCollection, System.Action{MediaGen.MediaGenerationOptions}?)"/>.</summary>
public interface IMediaGenerationBuilder
{
    /// <summary>The service collection MediaGen registers into.</summary>
    IServiceCollection Services { get; }
}
