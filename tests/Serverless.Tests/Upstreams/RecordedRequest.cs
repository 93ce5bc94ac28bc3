using System.Text.Json;

namespace Serverless.Tests.Upstreams;

/// <summary>One request as it reached the fake, captured before any validation.</summary>
/// <param name="Headers">Request headers, case-insensitive; repeated headers are joined with ", ".</param>
public sealed record RecordedRequest(
    string Method,
    string PathAndQuery,
    IReadOnlyDictionary<string, string> Headers,
    byte[] Body,
    UpstreamDialect Dialect)
{
    private JsonElement? _json;

    /// <summary>The body parsed as JSON; throws <see cref="JsonException"/> when the relay sent something else.</summary>
    public JsonElement Json => _json ??= Parse(Body);

    private static JsonElement Parse(byte[] body)
    {
        using var document = JsonDocument.Parse(body);
        return document.RootElement.Clone();
    }
}
