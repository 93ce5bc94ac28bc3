using System.Text.Json;
using Serverless.Relay.Functions;

namespace Serverless.Handler.FunctionsHost;

/// <summary>
/// A timer function behind the Functions host: the JSON invocation protocol. The host POSTs <c>/{FunctionName}</c>
/// with <c>{"Data": {"&lt;binding&gt;": {"Schedule":{}, "ScheduleStatus":{"Last","Next","LastUpdated"}, "IsPastDue"}}, "Metadata": {}}</c>
/// and expects a 2xx <c>{"Outputs":{}, "Logs":[], "ReturnValue":null}</c>; a non-2xx answer fails the invocation.
/// </summary>
internal static partial class TimerInvocation
{
    private static readonly byte[] Success = """{"Outputs":{},"Logs":[],"ReturnValue":null}"""u8.ToArray();

    public static void MapTimer(this WebApplication app, string functionName, string bindingName, ITimerFunction entry)
    {
        app.MapPost("/" + functionName, async context =>
        {
            TimerInfo timer;
            try
            {
                using var document = await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted);
                timer = Read(document.RootElement, bindingName);
            }
            catch (JsonException)
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                return;
            }

            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(TimerInvocation));
            try
            {
                await entry.RunAsync(timer, context.RequestAborted);
            }
            catch (Exception e) when (!context.RequestAborted.IsCancellationRequested)
            {
                Log.Failed(logger, functionName, e);
                context.Response.StatusCode = StatusCodes.Status500InternalServerError;
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync($$"""{"Outputs":{},"Logs":["{{functionName}} failed: {{e.GetType().Name}}"],"ReturnValue":null}""", context.RequestAborted);
                return;
            }

            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(Success, context.RequestAborted);
        }).WithName(functionName);
    }

    /// <summary>The timer value of <c>Data.&lt;binding&gt;</c>; tolerates it arriving as a JSON string (encoded twice).</summary>
    internal static TimerInfo Read(JsonElement root, string bindingName)
    {
        if (!root.TryGetProperty("Data", out var data) || !data.TryGetProperty(bindingName, out var value))
        {
            return new TimerInfo(false, null, null);
        }

        if (value.ValueKind == JsonValueKind.String)
        {
            using var inner = JsonDocument.Parse(value.GetString()!);
            return ReadTimer(inner.RootElement);
        }

        return ReadTimer(value);
    }

    private static TimerInfo ReadTimer(JsonElement timer)
    {
        if (timer.ValueKind != JsonValueKind.Object)
        {
            return new TimerInfo(false, null, null);
        }

        var pastDue = timer.TryGetProperty("IsPastDue", out var due) && due.ValueKind == JsonValueKind.True;
        DateTimeOffset? last = null, next = null;
        if (timer.TryGetProperty("ScheduleStatus", out var status) && status.ValueKind == JsonValueKind.Object)
        {
            last = status.TryGetProperty("Last", out var l) && l.TryGetDateTimeOffset(out var lv) ? lv : null;
            next = status.TryGetProperty("Next", out var n) && n.TryGetDateTimeOffset(out var nv) ? nv : null;
        }

        return new TimerInfo(pastDue, last, next);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 20, Level = LogLevel.Error, Message = "Timer function {Function} failed")]
        public static partial void Failed(ILogger logger, string function, Exception exception);
    }
}
