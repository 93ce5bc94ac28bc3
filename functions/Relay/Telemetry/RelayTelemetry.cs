using System.Diagnostics;

namespace Serverless.Relay.Telemetry;

/// <summary>
/// The relay's one <see cref="ActivitySource"/> and the name of its one meter. Both are plain
/// <c>System.Diagnostics</c> types: the relay records into them, and only the handler, when an exporter is configured,
/// builds the OpenTelemetry pipeline that listens. With no listener, starting a span returns null and no instrument is
/// enabled, so the hot path pays a flag check.
/// </summary>
public static class RelayTelemetry
{
    /// <summary>The name of the activity source and of the meter, for an SDK's <c>AddSource</c> / <c>AddMeter</c>.</summary>
    public const string Name = "Serverless.Relay";

    internal static readonly ActivitySource Source = new(Name, typeof(RelayTelemetry).Assembly.GetName().Version?.ToString());
}
