using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace Serverless.Relay.ApiDocs;

/// <summary>
/// Writes an OpenAPI 3.1 document from documented routes. The routes come from the route tables themselves (the admin
/// API's, the quota functions'), so a route cannot be served without being described, or described without being served.
/// </summary>
internal static class ApiDocument
{
    public const string Version = "3.1.1";

    /// <summary>The admin API's error body (OpenAI's shape): every error status answers with it.</summary>
    public static readonly ApiSchema Error = ApiSchema.Object("Error",
        ApiSchema.Prop("error", ApiSchema.Object(null,
            ApiSchema.Prop("message", ApiSchema.String(description: "What went wrong; for a validation error every wrong field, joined by '; '.")),
            ApiSchema.Prop("type", ApiSchema.String()),
            ApiSchema.Prop("param", ApiSchema.String().OrNull(), "The first field or parameter at fault."),
            ApiSchema.Prop("code", ApiSchema.String().OrNull()))));

    private static readonly Dictionary<int, string> Reasons = new()
    {
        [200] = "OK", [201] = "Created", [204] = "No content", [400] = "The body or a parameter is invalid; every error at once.",
        [401] = "No key, or a wrong one.", [403] = "The key may not do this.", [404] = "No such resource.", [409] = "Changed meanwhile; read it again and retry.",
        [502] = "The upstream refused or failed.", [503] = "The admin key is not configured, or storage is unavailable.",
    };

    public static byte[] Write(IReadOnlyList<ApiRoute> routes, string title, string description)
    {
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteString("openapi", Version);
            writer.WriteStartObject("info");
            writer.WriteString("title", title);
            writer.WriteString("description", description);
            writer.WriteString("version", "1");
            writer.WriteEndObject();

            writer.WriteStartObject("paths");
            foreach (var path in routes.GroupBy(r => r.Path, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                writer.WriteStartObject(path.Key);
                foreach (var route in path)
                {
                    WriteOperation(writer, route);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndObject();

            writer.WriteStartObject("components");
            writer.WriteStartObject("securitySchemes");
            WriteBearer(writer, ApiRoute.AdminKey, "The operator's RELAY_ADMIN_KEY.");
            WriteBearer(writer, ApiRoute.RelayKey, "A relay client key (sk-relay-…); the admin key is accepted too.");
            writer.WriteEndObject();
            writer.WriteStartObject("schemas");
            var named = routes.SelectMany(r => new[] { r.Operation.Request, r.Operation.Response }).OfType<ApiSchema>().Append(Error)
                .SelectMany(s => s.Named())
                .GroupBy(s => s.Name!, StringComparer.Ordinal)
                .OrderBy(g => g.Key, StringComparer.Ordinal);
            foreach (var schema in named)
            {
                writer.WritePropertyName(schema.Key);
                schema.First().Write(writer, inline: true);
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteOperation(Utf8JsonWriter writer, ApiRoute route)
    {
        var operation = route.Operation;
        writer.WriteStartObject(route.Method.ToLowerInvariant());
        writer.WriteString("operationId", OperationId(route));
        writer.WriteString("summary", operation.Summary);
        if (operation.Description is not null)
        {
            writer.WriteString("description", operation.Description);
        }

        writer.WriteStartArray("security");
        writer.WriteStartObject();
        writer.WriteStartArray(route.Security);
        writer.WriteEndArray();
        writer.WriteEndObject();
        writer.WriteEndArray();

        var pathParameters = route.Path.Split('/').Where(s => s is ['{', .., '}']).Select(s => s[1..^1].TrimStart('*')).ToList();
        if (pathParameters.Count > 0 || operation.Query.Count > 0)
        {
            writer.WriteStartArray("parameters");
            foreach (var name in pathParameters)
            {
                WriteParameter(writer, new ApiParameter(name, ApiSchema.String(), $"The {name}.", Required: true), "path");
            }

            foreach (var parameter in operation.Query)
            {
                WriteParameter(writer, parameter, "query");
            }

            writer.WriteEndArray();
        }

        if (operation.Request is { } request)
        {
            writer.WriteStartObject("requestBody");
            writer.WriteBoolean("required", true);
            WriteJsonContent(writer, request);
            writer.WriteEndObject();
        }

        writer.WriteStartObject("responses");
        writer.WriteStartObject(operation.Status.ToString(CultureInfo.InvariantCulture));
        writer.WriteString("description", ReasonOf(operation.Status));
        if (operation.Response is { } response)
        {
            WriteJsonContent(writer, response);
        }

        writer.WriteEndObject();
        foreach (var status in ErrorsOf(route))
        {
            writer.WriteStartObject(status.ToString(CultureInfo.InvariantCulture));
            writer.WriteString("description", ReasonOf(status));
            WriteJsonContent(writer, Error);
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    /// <summary>Every error status an operation documents: 400 with a body or parameters, 401 always, then its own.</summary>
    public static IEnumerable<int> ErrorsOf(ApiRoute route)
    {
        var statuses = new SortedSet<int>(route.Operation.Errors) { 401 };
        if (route.Operation.Request is not null || route.Operation.Query.Count > 0)
        {
            statuses.Add(400);
        }

        return statuses;
    }

    private static string ReasonOf(int status) =>
        Reasons.TryGetValue(status, out var reason) ? reason : Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status);

    private static void WriteParameter(Utf8JsonWriter writer, ApiParameter parameter, string location)
    {
        writer.WriteStartObject();
        writer.WriteString("name", parameter.Name);
        writer.WriteString("in", location);
        writer.WriteBoolean("required", parameter.Required);
        writer.WriteString("description", parameter.Description);
        writer.WritePropertyName("schema");
        parameter.Schema.Write(writer);
        writer.WriteEndObject();
    }

    private static void WriteJsonContent(Utf8JsonWriter writer, ApiSchema schema)
    {
        writer.WriteStartObject("content");
        writer.WriteStartObject("application/json");
        writer.WritePropertyName("schema");
        schema.Write(writer);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static void WriteBearer(Utf8JsonWriter writer, string name, string description)
    {
        writer.WriteStartObject(name);
        writer.WriteString("type", "http");
        writer.WriteString("scheme", "bearer");
        writer.WriteString("description", description);
        writer.WriteEndObject();
    }

    private static string OperationId(ApiRoute route) =>
        route.Method.ToLowerInvariant() + string.Concat(route.Path.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(segment =>
        {
            var word = segment.Trim('{', '}', '*').Replace("-", "", StringComparison.Ordinal).Replace(".", "", StringComparison.Ordinal);
            var pascal = char.ToUpperInvariant(word[0]) + word[1..];
            return segment.StartsWith('{') ? "By" + pascal : pascal;
        }));
}
