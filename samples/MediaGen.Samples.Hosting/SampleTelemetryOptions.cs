using OpenTelemetry.Exporter;

namespace MediaGen.Samples.Hosting;

/// <summary>The sample hosts' telemetry settings, from <c>MediaGen:Telemetry</c>.</summary>
public sealed class SampleTelemetryOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "MediaGen:Telemetry";

    /// <summary>
    /// Where to send traces and metrics over OTLP. Without it, the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> variable is
    /// used when set; with neither, nothing is exported over OTLP.
    /// </summary>
    /// <value>The default value is null.</value>
    public Uri? OtlpEndpoint { get; set; }

    /// <summary>The OTLP protocol, when <see cref="OtlpEndpoint"/> is set (the standard <c>OTEL_EXPORTER_OTLP_PROTOCOL</c> otherwise).</summary>
    /// <value>The default value is <see cref="OtlpExportProtocol.Grpc"/>.</value>
    public OtlpExportProtocol OtlpProtocol { get; set; } = OtlpExportProtocol.Grpc;

    /// <summary>Whether the API host serves its metrics for Prometheus at <c>/metrics</c> (the worker host has no HTTP server).</summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool Prometheus { get; set; } = true;
}
