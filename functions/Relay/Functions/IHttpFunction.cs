using Microsoft.AspNetCore.Http;

namespace Serverless.Relay.Functions;

/// <summary>
/// The handler entry point of one HTTP-triggered function. The handler binds it to the route and methods that the
/// function's <c>function.json</c> declares (same name), so a function exists exactly when both exist.
/// Route parameters of that template are in <see cref="HttpRequest.RouteValues"/>.
/// </summary>
internal interface IHttpFunction
{
    /// <summary>The function name: the name of the folder holding its <c>function.json</c>.</summary>
    string Name { get; }

    Task InvokeAsync(HttpContext context);
}
