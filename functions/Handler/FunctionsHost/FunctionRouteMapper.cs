using Serverless.Relay.Functions;

namespace Serverless.Handler.FunctionsHost;

/// <summary>
/// Binds every function of the catalog to its handler entry point. The same routes serve both modes: behind the
/// Functions host (which proxies the original request path because <c>routePrefix</c> is empty) and in local mode.
/// A function without an entry point, or an entry point without a function, stops start-up: neither can be reached.
/// </summary>
internal static class FunctionRouteMapper
{
    public static void MapFunctions(this WebApplication app, FunctionCatalog catalog)
    {
        var entries = app.Services.GetServices<IHttpFunction>().ToDictionary(f => f.Name, StringComparer.Ordinal);
        var problems = new List<string>();

        foreach (var function in catalog.Functions)
        {
            if (!function.IsProxiedHttp)
            {
                problems.Add($"{function.Name}: only proxied HTTP functions (one httpTrigger in, one http out) are served by this handler");
                continue;
            }

            if (!entries.Remove(function.Name, out var entry))
            {
                problems.Add($"{function.Name}: function.json has no handler entry point");
                continue;
            }

            var trigger = function.HttpTrigger!;
            if (string.IsNullOrEmpty(trigger.Route) || trigger.Methods.Count == 0)
            {
                problems.Add($"{function.Name}: the httpTrigger needs a route and methods");
                continue;
            }

            app.MapMethods("/" + trigger.Route, trigger.Methods, entry.InvokeAsync).WithName(function.Name);
        }

        problems.AddRange(entries.Keys.Select(name => $"{name}: handler entry point has no function.json"));
        if (problems.Count > 0)
        {
            throw new FunctionCatalogException("The app's functions do not match the handler: " + string.Join("; ", problems));
        }
    }
}
