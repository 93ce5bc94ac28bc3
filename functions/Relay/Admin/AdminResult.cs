using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.OpenAIChat;

namespace Serverless.Relay.Admin;

/// <summary>
/// What an admin, quota or key-info endpoint answers, as a value: a JSON body, an empty 204, or an error in OpenAI's
/// error shape. <see cref="ExecuteAsync"/> is the one place these APIs write a response.
/// </summary>
internal sealed class AdminResult : IResult
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private AdminResult(int status, Action<Utf8JsonWriter>? body, RelayError? error)
    {
        Status = status;
        Body = body;
        Error = error;
    }

    public int Status { get; }

    public RelayError? Error { get; }

    /// <summary>The <c>Location</c> of a created resource.</summary>
    public string? Location { get; private init; }

    /// <summary>The <c>Allow</c> header of a 405.</summary>
    public string? Allow { get; private init; }

    private Action<Utf8JsonWriter>? Body { get; }

    public static AdminResult Ok(Action<Utf8JsonWriter> body) => new(StatusCodes.Status200OK, body, null);

    public static AdminResult Created(string location, Action<Utf8JsonWriter> body) => new(StatusCodes.Status201Created, body, null) { Location = location };

    /// <summary>200 or 201 (with its location) after an upsert.</summary>
    public static AdminResult Upserted(bool created, string location, Action<Utf8JsonWriter> body) =>
        new(created ? StatusCodes.Status201Created : StatusCodes.Status200OK, body, null) { Location = location };

    public static AdminResult NoContent { get; } = new(StatusCodes.Status204NoContent, null, null);

    public static AdminResult Fail(RelayError error) => new(OpenAIErrors.StatusCodeOf(error), null, error);

    public static AdminResult MethodNotAllowed(string method, string path, string allow) =>
        new(StatusCodes.Status405MethodNotAllowed, null, RelayError.Invalid($"{method} is not allowed on {path}; allowed: {allow}")) { Allow = allow };

    public static implicit operator AdminResult(RelayError error) => Fail(error);

    /// <summary>A JSON list: <c>{"object": "list", "data": [...]}</c>.</summary>
    public static AdminResult List<T>(IEnumerable<T> items, Action<Utf8JsonWriter, T> writeItem) => Ok(writer =>
    {
        writer.WriteStartObject();
        writer.WriteString("object", "list");
        writer.WriteStartArray("data");
        foreach (var item in items)
        {
            writeItem(writer, item);
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    });

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.StatusCode = Status;
        if (Location is not null)
        {
            response.Headers.Location = Location;
        }

        if (Allow is not null)
        {
            response.Headers.Allow = Allow;
        }

        if (Error?.RetryAfter is { } retryAfter)
        {
            response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }

        Action<Utf8JsonWriter>? write = Error is { } error ? writer => OpenAIErrors.Write(error, writer) : Body;
        if (write is null)
        {
            return;
        }

        response.ContentType = "application/json";
        using (var writer = new Utf8JsonWriter(response.BodyWriter, WriterOptions))
        {
            write(writer);
        }

        await response.BodyWriter.FlushAsync(httpContext.RequestAborted).ConfigureAwait(false);
    }
}
