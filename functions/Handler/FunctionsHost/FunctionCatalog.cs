using System.Text.Json;
using System.Text.Json.Nodes;

namespace Serverless.Handler.FunctionsHost;

/// <summary>
/// The functions of the app, read the way the Functions host reads them: every direct sub-folder of the app root
/// that holds a <c>function.json</c> is a function named after the folder.
/// </summary>
internal sealed class FunctionCatalog
{
    /// <summary>The Functions host's default <c>functionTimeout</c> on Flex Consumption, when host.json sets none.</summary>
    internal static readonly TimeSpan DefaultFunctionTimeout = TimeSpan.FromMinutes(30);

    private FunctionCatalog(string appRoot, IReadOnlyList<FunctionDefinition> functions, TimeSpan functionTimeout, TimeSpan? lockRenewal)
    {
        AppRoot = appRoot;
        Functions = functions;
        FunctionTimeout = functionTimeout;
        LockRenewal = lockRenewal;
    }

    public string AppRoot { get; }

    public IReadOnlyList<FunctionDefinition> Functions { get; }

    /// <summary>host.json <c>functionTimeout</c>: past it the host fails the invocation and restarts the handler process.</summary>
    public TimeSpan FunctionTimeout { get; }

    /// <summary>
    /// When the handler itself stops a JSON-protocol invocation (timers, queue messages): before the host's
    /// <see cref="FunctionTimeout"/>, which would restart the one worker process and cut every stream it serves, by a
    /// tenth of it and at least 30 s. Timers stop earlier on their own (they leave the rest for the next run); this is
    /// the bound for everything else, and a queue message stopped here is delivered again.
    /// </summary>
    public TimeSpan InvocationDeadline => BeforeEnd(FunctionTimeout);

    /// <summary>host.json <c>extensions.serviceBus.maxAutoLockRenewalDuration</c>: after it a message's lock lapses and another instance may take it.</summary>
    public TimeSpan? LockRenewal { get; }

    /// <summary>A Service Bus invocation also stops before its message's lock renewal ends, so no second instance starts the same message while this one still works on it.</summary>
    public TimeSpan QueueInvocationDeadline => LockRenewal is { } renewal && BeforeEnd(renewal) < InvocationDeadline ? BeforeEnd(renewal) : InvocationDeadline;

    private static TimeSpan BeforeEnd(TimeSpan limit) => limit - TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(30).Ticks, limit.Ticks / 10));

    public static FunctionCatalog Load(string appRoot)
    {
        var hostJson = Path.Combine(appRoot, "host.json");
        if (!File.Exists(hostJson))
        {
            throw new FunctionCatalogException($"host.json not found in the app root '{appRoot}'");
        }

        var (functionTimeout, lockRenewal) = ReadTimeouts(hostJson);

        var functions = new List<FunctionDefinition>();
        foreach (var dir in Directory.EnumerateDirectories(appRoot).Order(StringComparer.Ordinal))
        {
            var file = Path.Combine(dir, "function.json");
            if (!File.Exists(file))
            {
                continue;
            }

            var name = Path.GetFileName(dir);
            JsonObject json;
            try
            {
                json = JsonNode.Parse(File.ReadAllText(file)) as JsonObject
                    ?? throw new FunctionCatalogException($"{name}/function.json: not a JSON object");
            }
            catch (JsonException e)
            {
                throw new FunctionCatalogException($"{name}/function.json: {e.Message}");
            }

            if (json["bindings"] is not JsonArray bindings || bindings.Count == 0)
            {
                throw new FunctionCatalogException($"{name}/function.json: 'bindings' must be a non-empty array");
            }

            functions.Add(new FunctionDefinition(
                name,
                bindings.Select((b, i) => FunctionDefinition.ParseBinding(
                    b as JsonObject ?? throw new FunctionCatalogException($"{name}/function.json: bindings[{i}] is not an object"),
                    $"{name}/function.json bindings[{i}]")).ToArray()));
        }

        var refusals = HostRefusals(functions);
        if (refusals.Count > 0)
        {
            throw new FunctionCatalogException("The Functions host would refuse these functions: " + string.Join("; ", refusals));
        }

        return new FunctionCatalog(appRoot, functions, functionTimeout, lockRenewal);
    }

    /// <summary>host.json <c>functionTimeout</c> (<c>hh:mm:ss</c>); <see cref="DefaultFunctionTimeout"/> when absent. Unbounded (<c>-1</c>) is refused: the handler needs a bound to stay under.</summary>
    private static (TimeSpan FunctionTimeout, TimeSpan? LockRenewal) ReadTimeouts(string hostJson)
    {
        JsonNode? host;
        try
        {
            host = JsonNode.Parse(File.ReadAllText(hostJson));
        }
        catch (JsonException e)
        {
            throw new FunctionCatalogException($"host.json: {e.Message}");
        }

        TimeSpan? lockRenewal = host?["extensions"]?["serviceBus"]?["maxAutoLockRenewalDuration"]?.GetValue<string>() is { } renewal
            && TimeSpan.TryParse(renewal, System.Globalization.CultureInfo.InvariantCulture, out var renewalSpan) && renewalSpan > TimeSpan.Zero
                ? renewalSpan
                : null;
        if (host?["functionTimeout"]?.GetValue<string>() is not { } text)
        {
            return (DefaultFunctionTimeout, lockRenewal);
        }

        return TimeSpan.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var timeout) && timeout > TimeSpan.FromMinutes(1)
            ? (timeout, lockRenewal)
            : throw new FunctionCatalogException($"host.json: functionTimeout '{text}' must be a time span over one minute (hh:mm:ss)");
    }

    /// <summary>
    /// What the real host refuses when it indexes HTTP functions, with its own messages (azure-functions-host,
    /// <c>ScriptHost.ValidateHttpFunction</c> and <c>ValidateFunction</c>): a route under the reserved <c>admin</c> or
    /// <c>runtime</c> prefixes, and a route equal (ignoring case and outer slashes) to an earlier function's with methods
    /// in common (no methods means all). Functions are checked in name order; a refused one is not compared further.
    /// </summary>
    internal static IReadOnlyList<string> HostRefusals(IEnumerable<FunctionDefinition> functions)
    {
        const string BuiltInRoute = "The specified route conflicts with one or more built in routes.";
        var refusals = new List<string>();
        var accepted = new List<FunctionDefinition>();
        foreach (var function in functions.Where(f => f.HttpTrigger is not null))
        {
            var route = function.HttpRoute!.ToLowerInvariant();
            if (route.StartsWith("admin", StringComparison.Ordinal) || route.StartsWith("runtime", StringComparison.Ordinal))
            {
                refusals.Add($"{function.Name}: {BuiltInRoute}");
                continue;
            }

            if (accepted.FirstOrDefault(other => RoutesConflict(function, other)) is { } conflicting)
            {
                refusals.Add($"{function.Name}: The route specified conflicts with the route defined by function '{conflicting.Name}'.");
                continue;
            }

            accepted.Add(function);
        }

        return refusals;
    }

    private static bool RoutesConflict(FunctionDefinition function, FunctionDefinition other)
    {
        if (!string.Equals(function.HttpRoute, other.HttpRoute, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var methods = function.HttpTrigger!.Methods;
        var otherMethods = other.HttpTrigger!.Methods;
        return methods.Count == 0 || otherMethods.Count == 0 || methods.Intersect(otherMethods, StringComparer.OrdinalIgnoreCase).Any();
    }
}
