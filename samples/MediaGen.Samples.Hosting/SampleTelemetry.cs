using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace MediaGen.Samples.Hosting;

/// <summary>OpenTelemetry for the sample hosts: MediaGen's metrics and spans, exported over OTLP when an endpoint is configured.</summary>
public static class SampleTelemetry
{
    /// <summary>The standard variable naming the OTLP endpoint of every signal.</summary>
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>The standard variable naming the service.</summary>
    public const string ServiceNameVariable = "OTEL_SERVICE_NAME";

    /// <summary>
    /// Adds OpenTelemetry with MediaGen's instrumentation (<c>AddMediaGenInstrumentation()</c>) for metrics and traces, and
    /// the OTLP exporter when <see cref="SampleTelemetryOptions.OtlpEndpoint"/> or <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The host's configuration (environment variables included).</param>
    /// <param name="options">The checked telemetry settings (<see cref="MediaGenHostSetup.Telemetry"/>).</param>
    /// <param name="serviceName">The service name when <c>OTEL_SERVICE_NAME</c> is not set.</param>
    /// <returns>The OpenTelemetry builder, for the host's own additions (the API adds Prometheus and ASP.NET Core).</returns>
    public static OpenTelemetryBuilder AddSampleTelemetry(this IServiceCollection services, IConfiguration configuration, SampleTelemetryOptions options, string serviceName)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(options);
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(configuration[ServiceNameVariable] is { Length: > 0 } name ? name : serviceName))
            .WithMetrics(m => m.AddMediaGenInstrumentation())
            .WithTracing(t => t.AddMediaGenInstrumentation());
        if (options.OtlpEndpoint is { } endpoint)
        {
            telemetry.UseOtlpExporter(options.OtlpProtocol, endpoint);
        }
        else if (!string.IsNullOrWhiteSpace(configuration[OtlpEndpointVariable]))
        {
            // The exporter reads the endpoint, protocol and headers from the standard OTEL_EXPORTER_OTLP_* variables.
            telemetry.UseOtlpExporter();
        }

        return telemetry;
    }
}
