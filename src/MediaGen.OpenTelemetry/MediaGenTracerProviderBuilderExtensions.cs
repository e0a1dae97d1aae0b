using MediaGen;

namespace OpenTelemetry.Trace;

/// <summary>Adds MediaGen's spans to an OpenTelemetry <see cref="TracerProviderBuilder"/>.</summary>
public static class MediaGenTracerProviderBuilderExtensions
{
    /// <summary>
    /// Subscribes to MediaGen's activity source (<see cref="MediaGenTelemetry.ActivitySourceName"/>): the spans in
    /// <see cref="MediaGenTelemetry.Spans"/>. A job's trace context travels in its queue message, so the worker's
    /// <c>mediagen.process</c> span is a child of the submission's span in another process.
    /// </summary>
    /// <remarks>
    /// Sampling is the application's: with OpenTelemetry's default sampler (parent-based, always on), a MediaGen span is
    /// recorded when its parent was sampled, or when it has no parent. A submission made inside an ASP.NET Core request
    /// whose own span is not recorded (the ASP.NET Core instrumentation not added, or the request sampled out) is not
    /// recorded either, and neither is the worker's span for that job. Add the ASP.NET Core instrumentation, or set a
    /// sampler that decides otherwise, to see them.
    /// </remarks>
    /// <param name="builder">The tracer provider builder.</param>
    /// <returns>The same builder, for chaining.</returns>
    public static TracerProviderBuilder AddMediaGenInstrumentation(this TracerProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddSource(MediaGenTelemetry.ActivitySourceName);
    }
}
