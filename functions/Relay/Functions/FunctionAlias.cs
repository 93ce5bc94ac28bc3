using Microsoft.AspNetCore.Http;

namespace Serverless.Relay.Functions;

/// <summary>
/// Serves another function's entry point under a second function name, so one API can live under several routes
/// (the host binds one route template per function name). The route parameters of both <c>function.json</c> files
/// must have the same names, since the target reads them from <see cref="HttpRequest.RouteValues"/>.
/// </summary>
internal sealed class FunctionAlias(string name, IHttpFunction target) : IHttpFunction
{
    public string Name => name;

    public Task InvokeAsync(HttpContext context) => target.InvokeAsync(context);
}
