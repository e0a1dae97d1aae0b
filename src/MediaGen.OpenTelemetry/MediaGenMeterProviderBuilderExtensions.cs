using MediaGen;

namespace OpenTelemetry.Metrics;

/// <summary>Adds MediaGen's metrics to an OpenTelemetry <see cref="MeterProviderBuilder"/>.</summary>
public static class MediaGenMeterProviderBuilderExtensions
{
    /// <summary>
    /// Subscribes to MediaGen's meter (<see cref="MediaGenTelemetry.MeterName"/>): every instrument in
    /// <see cref="MediaGenTelemetry.Instruments"/>, in API and worker processes alike.
    /// </summary>
    /// <param name="builder">The meter provider builder.</param>
    /// <returns>The same builder, for chaining.</returns>
    public static MeterProviderBuilder AddMediaGenInstrumentation(this MeterProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddMeter(MediaGenTelemetry.MeterName);
    }
}
