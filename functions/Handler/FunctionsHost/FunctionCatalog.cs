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

        return new FunctionCatalog(appRoot, functions);
    }
}
