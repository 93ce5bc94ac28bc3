using Azure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Serverless.Relay.Formats;
using Serverless.Relay.Functions;

namespace Serverless.Relay.Admin;

/// <summary>
/// The admin API, one Functions function on the route <c>api/admin/{*path}</c> (the host reserves routes that start
/// with <c>admin</c>). Its endpoints are the groups of <see cref="AdminRoutes"/>: accounts (and accounts/events), keys,
/// model groups, OAuth, pricing, usage and quota. Authenticated by <c>RELAY_ADMIN_KEY</c>; errors in OpenAI's shape.
/// </summary>
internal sealed partial class AdminFunction(AdminKeyFilter adminKey, AdminRoutes routes, ILogger<AdminFunction> logger) : IHttpFunction
{
    public const string FunctionName = "Admin";

    /// <summary>The public path of the API, with its trailing slash: what <c>Location</c> headers and messages name.</summary>
    public const string PathPrefix = "/api/admin/";

    public string Name => FunctionName;

    public async Task InvokeAsync(HttpContext context)
    {
        var result = await InvokeCoreAsync(context);
        await result.ExecuteAsync(context);
    }

    private async Task<AdminResult> InvokeCoreAsync(HttpContext context)
    {
        // :: Step 1: the admin key (the one gate)
        if (adminKey.Authorize(context) is { } refused)
        {
            return refused;
        }

        // :: Step 2: the endpoint for this method and path
        var request = context.Request;
        var path = (request.RouteValues["path"] as string ?? "").Trim('/');
        var match = routes.Find(request.Method, path);
        if (match.Endpoint is null)
        {
            return match.Allow is null
                ? new RelayError(ErrorKind.NotFound, $"no admin endpoint at {PathPrefix}{path}")
                : AdminResult.MethodNotAllowed(request.Method, PathPrefix + path, match.Allow);
        }

        // :: Step 3: a write's body, read and checked once for every endpoint
        var body = default(System.Text.Json.JsonElement);
        if (HttpMethods.IsPost(request.Method) || HttpMethods.IsPut(request.Method) || HttpMethods.IsPatch(request.Method))
        {
            var (document, invalid) = await AdminBody.ReadAsync(request, context.RequestAborted);
            if (document is null)
            {
                return invalid!;
            }

            // The answer may be written from the body's elements: the document lives as long as the response.
            context.Response.RegisterForDispose(document);
            body = document.RootElement;
        }

        // :: Step 4: the endpoint; storage failing is the one exception turned into an answer here
        try
        {
            return await match.Endpoint(new AdminCall(context, match.Values!, body));
        }
        catch (RequestFailedException e) when (!context.Response.HasStarted)
        {
            Log.StorageFailed(logger, e.Status, e.ErrorCode, e);
            return new RelayError(ErrorKind.Unavailable, "storage is unavailable; try again");
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1407, Level = LogLevel.Error, Message = "Admin request failed in storage ({Status} {ErrorCode})")]
        public static partial void StorageFailed(ILogger logger, int status, string? errorCode, Exception exception);
    }
}
