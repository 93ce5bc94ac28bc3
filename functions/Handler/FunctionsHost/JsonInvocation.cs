using System.Globalization;
using System.Text.Json;

namespace Serverless.Handler.FunctionsHost;

/// <summary>
/// The JSON invocation protocol of a custom handler (non-proxied functions): the host POSTs <c>/{FunctionName}</c> with
/// <c>{"Data": {"&lt;binding&gt;": value}, "Metadata": {...}}</c> and expects a 2xx
/// <c>{"Outputs":{}, "Logs":[], "ReturnValue":null}</c>; a non-2xx answer fails the invocation (a Service Bus message is
/// then delivered again). One writer of the answer for every trigger kind.
/// NOTE: the host encodes values with <c>ScriptInvocationContextExtensions.GetHttpScriptInvocationContextValue</c>
/// (azure-functions-host): a string becomes <c>JsonConvert.SerializeObject(string)</c>, so a message body arrives as a JSON
/// string holding the JSON text (encoded twice), metadata strings arrive quoted (<c>"\"id\""</c>) and numbers as strings
/// (<c>"3"</c>); null metadata is left out. The readers here take any of these forms.
/// </summary>
internal static partial class JsonInvocation
{
    private static readonly byte[] Success = """{"Outputs":{},"Logs":[],"ReturnValue":null}"""u8.ToArray();

    /// <summary>
    /// Serves <c>POST /{functionName}</c>: <paramref name="run"/> reads the invocation and runs the function. A body that
    /// is not JSON, or that <paramref name="run"/> cannot read (<see cref="JsonException"/>), is answered 400; a failed run 500.
    /// </summary>
    /// <param name="deadline">The run is cancelled after this (see <see cref="FunctionCatalog.InvocationDeadline"/>) and answered 500.</param>
    /// <param name="loopbackOnly">Local mode: only the handler's own trigger may invoke, not whoever reaches the port.</param>
    public static void MapInvocation(this WebApplication app, string functionName, TimeSpan deadline, Func<JsonElement, CancellationToken, Task> run, bool loopbackOnly = false)
    {
        app.MapPost("/" + functionName, async context =>
        {
            if (loopbackOnly && context.Connection.RemoteIpAddress is { } remote && !System.Net.IPAddress.IsLoopback(remote))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }

            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(JsonInvocation));
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            stop.CancelAfter(deadline);
            try
            {
                using var document = await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted);
                await run(document.RootElement, stop.Token);
            }
            catch (JsonException e)
            {
                Log.Unreadable(logger, functionName, e.Message);
                await AnswerAsync(context, StatusCodes.Status400BadRequest, $"{functionName}: unreadable invocation");
                return;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested && !context.RequestAborted.IsCancellationRequested)
            {
                Log.DeadlineReached(logger, functionName, deadline);
                await AnswerAsync(context, StatusCodes.Status500InternalServerError, $"{functionName} stopped at the handler's deadline of {deadline}");
                return;
            }
            catch (Exception e) when (!context.RequestAborted.IsCancellationRequested)
            {
                Log.Failed(logger, functionName, e);
                await AnswerAsync(context, StatusCodes.Status500InternalServerError, $"{functionName} failed: {e.GetType().Name}");
                return;
            }

            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(Success, context.RequestAborted);
        }).WithName(functionName);
    }

    /// <summary>
    /// The JSON text of <c>Data.&lt;binding&gt;</c> with the host's string encodings undone (an object as is, a JSON
    /// string holding JSON once or twice unwrapped); text that is not JSON is returned as it is. Null when absent or null.
    /// </summary>
    public static string? DataText(JsonElement root, string bindingName)
    {
        if (root.ValueKind != JsonValueKind.Object
            || !root.TryGetProperty("Data", out var data) || data.ValueKind != JsonValueKind.Object
            || !data.TryGetProperty(bindingName, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? Unquote(value.GetString()!) : value.GetRawText();
    }

    /// <summary>A <c>Metadata</c> value as text (names compared ignoring case): a string unquoted, a number as written; null when absent or null.</summary>
    public static string? MetadataText(JsonElement root, string name)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("Metadata", out var metadata) || metadata.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        foreach (var property in metadata.EnumerateObject())
        {
            if (string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return property.Value.ValueKind switch
                {
                    JsonValueKind.String => Unquote(property.Value.GetString()!),
                    JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => property.Value.GetRawText(),
                    _ => null,
                };
            }
        }

        return null;
    }

    /// <summary>A <c>Metadata</c> integer (<c>3</c> or <c>"3"</c>), or null.</summary>
    public static int? MetadataInt(JsonElement root, string name) =>
        int.TryParse(MetadataText(root, name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : null;

    /// <summary>A <c>Metadata</c> time; one without an offset is UTC (the host runs in UTC and drops the kind). Null when unreadable.</summary>
    public static DateTimeOffset? MetadataTime(JsonElement root, string name) =>
        DateTimeOffset.TryParse(MetadataText(root, name), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value)
            ? value
            : null;

    /// <summary>Undoes JSON string encoding as often as it was applied (the host applies it once more than the sender).</summary>
    private static string Unquote(string text)
    {
        for (var depth = 0; depth < 4 && text.Length >= 2 && text[0] == '"' && text[^1] == '"'; depth++)
        {
            try
            {
                text = JsonSerializer.Deserialize(text, JsonInvocationJson.Default.String) ?? text;
            }
            catch (JsonException)
            {
                break;
            }
        }

        return text;
    }

    private static async Task AnswerAsync(HttpContext context, int status, string log)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        var body = new InvocationAnswer([], [log], null);
        await JsonSerializer.SerializeAsync(context.Response.Body, body, JsonInvocationJson.Default.InvocationAnswer, context.RequestAborted);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 20, Level = LogLevel.Error, Message = "Function {Function} failed")]
        public static partial void Failed(ILogger logger, string function, Exception exception);

        [LoggerMessage(EventId = 23, Level = LogLevel.Warning, Message = "Function {Function} stopped at the handler's deadline of {Deadline}, before the host's functionTimeout")]
        public static partial void DeadlineReached(ILogger logger, string function, TimeSpan deadline);

        [LoggerMessage(EventId = 22, Level = LogLevel.Error, Message = "Function {Function} got an unreadable invocation: {Reason}")]
        public static partial void Unreadable(ILogger logger, string function, string reason);
    }
}

/// <summary>The answer of a failed invocation: the host logs <c>Logs</c>.</summary>
internal sealed record InvocationAnswer(Dictionary<string, string> Outputs, IReadOnlyList<string> Logs, string? ReturnValue);

[System.Text.Json.Serialization.JsonSerializable(typeof(InvocationAnswer))]
[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
internal sealed partial class JsonInvocationJson : System.Text.Json.Serialization.JsonSerializerContext;
