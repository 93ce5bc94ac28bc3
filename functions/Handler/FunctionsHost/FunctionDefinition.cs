using System.Text.Json.Nodes;

namespace Serverless.Handler.FunctionsHost;

/// <summary>One binding of a <c>function.json</c>, with the fields the handler reads.</summary>
internal sealed record FunctionBinding
{
    public required string Type { get; init; }
    public required string Direction { get; init; }
    public required string Name { get; init; }
    public string? Route { get; init; }
    public IReadOnlyList<string> Methods { get; init; } = [];
    /// <summary>NCRONTAB schedule of a timer trigger.</summary>
    public string? Schedule { get; init; }
    /// <summary>Queue name of a Service Bus trigger or output (<c>%Setting%</c> reads an app setting).</summary>
    public string? QueueName { get; init; }
    /// <summary>The connection setting prefix of a Service Bus binding (<c>ServiceBusConnection</c>).</summary>
    public string? Connection { get; init; }
    /// <summary>A Service Bus trigger on a session queue; the host refuses to receive from one without it.</summary>
    public bool IsSessionsEnabled { get; init; }
}

/// <summary>How the Functions host hands an invocation to the custom handler.</summary>
internal enum InvocationProtocol
{
    /// <summary>The HTTP request itself, forwarded untouched and streamed (<c>enableProxyingHttpRequest</c>).</summary>
    ProxiedHttp,
    /// <summary>A JSON POST to <c>/{FunctionName}</c> with <c>Data</c> and <c>Metadata</c>, answered with <c>Outputs</c>.</summary>
    JsonInvocation,
}

/// <summary>A function as the Functions host sees it: the folder name and the bindings of its <c>function.json</c>.</summary>
internal sealed record FunctionDefinition(string Name, IReadOnlyList<FunctionBinding> Bindings)
{
    /// <summary>
    /// The host proxies a function to the handler (streamed, untouched) only when its bindings are exactly one
    /// <c>httpTrigger</c> in and one <c>http</c> out (the host's <c>IsHttpInAndOutFunction</c>, types compared ignoring
    /// case); any other shape, an HTTP trigger with extra bindings included, gets the JSON invocation protocol.
    /// </summary>
    public bool IsProxiedHttp =>
        Bindings.Count(b => IsDirection(b, "in")) == 1
        && Bindings.Count(b => IsDirection(b, "out")) == 1
        && Bindings.Any(b => IsDirection(b, "in") && IsType(b, "httpTrigger"))
        && Bindings.Any(b => IsDirection(b, "out") && IsType(b, "http"));

    public InvocationProtocol Protocol => IsProxiedHttp ? InvocationProtocol.ProxiedHttp : InvocationProtocol.JsonInvocation;

    public FunctionBinding? HttpTrigger => Bindings.FirstOrDefault(b => IsType(b, "httpTrigger"));

    /// <summary>The route the host serves the HTTP trigger on: its <c>route</c> without outer slashes, or the function name when it has none.</summary>
    public string? HttpRoute => HttpTrigger is { } trigger
        ? (string.IsNullOrWhiteSpace(trigger.Route) ? Name : trigger.Route.Trim('/'))
        : null;

    /// <summary>The trigger of a timer function: exactly one binding, a <c>timerTrigger</c> with a schedule.</summary>
    public FunctionBinding? TimerTrigger =>
        Bindings is [{ Type: "timerTrigger", Direction: "in", Schedule.Length: > 0 } trigger] ? trigger : null;

    /// <summary>The trigger of a Service Bus function: exactly one binding, a <c>serviceBusTrigger</c> on a queue (not a topic).</summary>
    public FunctionBinding? ServiceBusTrigger =>
        Bindings is [{ Type: "serviceBusTrigger", Direction: "in", QueueName.Length: > 0 } trigger] ? trigger : null;

    private static bool IsType(FunctionBinding binding, string type) => string.Equals(binding.Type, type, StringComparison.OrdinalIgnoreCase);

    private static bool IsDirection(FunctionBinding binding, string direction) => string.Equals(binding.Direction, direction, StringComparison.OrdinalIgnoreCase);

    internal static FunctionBinding ParseBinding(JsonObject json, string where)
    {
        string Required(string field) =>
            json[field]?.GetValue<string>() is { Length: > 0 } value
                ? value
                : throw new FunctionCatalogException($"{where}: binding field '{field}' is required");

        return new FunctionBinding
        {
            Type = Required("type"),
            Direction = Required("direction"),
            Name = Required("name"),
            Route = json["route"]?.GetValue<string>(),
            Methods = json["methods"] is JsonArray methods
                ? methods.Select(m => m!.GetValue<string>().ToUpperInvariant()).ToArray()
                : [],
            Schedule = json["schedule"]?.GetValue<string>(),
            QueueName = json["queueName"]?.GetValue<string>(),
            Connection = json["connection"]?.GetValue<string>(),
            IsSessionsEnabled = json["isSessionsEnabled"] is JsonValue sessions && (
                (sessions.TryGetValue<bool>(out var flag) && flag)
                || (sessions.TryGetValue<string>(out var text) && bool.TryParse(text, out var parsed) && parsed)),
        };
    }
}

internal sealed class FunctionCatalogException(string message) : Exception(message);
