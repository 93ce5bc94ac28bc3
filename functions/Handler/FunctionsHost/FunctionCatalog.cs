using System.Text.Json;
using System.Text.Json.Nodes;

namespace Serverless.Handler.FunctionsHost;

/// <summary>
/// The functions of the app, read the way the Functions host reads them: every direct sub-folder of the app root
/// that holds a <c>function.json</c> is a function named after the folder.
/// </summary>
internal sealed class FunctionCatalog
{
    private FunctionCatalog(string appRoot, IReadOnlyList<FunctionDefinition> functions)
    {
        AppRoot = appRoot;
        Functions = functions;
    }

    public string AppRoot { get; }

    public IReadOnlyList<FunctionDefinition> Functions { get; }

    public static FunctionCatalog Load(string appRoot)
    {
        if (!File.Exists(Path.Combine(appRoot, "host.json")))
        {
            throw new FunctionCatalogException($"host.json not found in the app root '{appRoot}'");
        }

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

        return new FunctionCatalog(appRoot, functions);
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
