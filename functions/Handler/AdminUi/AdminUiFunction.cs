using System.Collections.Frozen;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using Serverless.Relay.Functions;

namespace Serverless.Handler.AdminUi;

/// <summary>
/// <c>GET /ui/…</c>: the admin web UI's static files, built into <c>ui/</c> beside the handler. Anonymous: the page
/// holds no secret, and every API call it makes carries the admin key the operator types in. The files are read once,
/// at the first request, into memory (a few hundred KB), so no request path ever reaches the file system.
/// </summary>
internal sealed class AdminUiFunction(string appRoot) : IHttpFunction
{
    public const string FunctionName = "AdminUi";
    private const string IndexFile = "index.html";

    // NOTE: no inline script or style anywhere in the UI, so the policy allows none; the API is same-origin.
    private const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

    private static readonly FrozenDictionary<string, string> ContentTypes = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
        [".png"] = "image/png",
        [".ico"] = "image/x-icon",
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    private readonly Lazy<FrozenDictionary<string, byte[]>> _files = new(() => Load(Path.Combine(appRoot, "ui")));

    public string Name => FunctionName;

    public Task InvokeAsync(HttpContext context)
    {
        var response = context.Response;
        var headers = response.Headers;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.XFrameOptions = "DENY";

        // "/ui" and "/ui/" and any path without a file extension (a page the client routes) get the app shell.
        var path = (context.Request.RouteValues["path"] as string ?? "").Trim('/');
        var name = path.Length == 0 || !Path.HasExtension(path) ? IndexFile : path;
        if (!_files.Value.TryGetValue(name, out var content))
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }

        response.ContentType = ContentTypes.GetValueOrDefault(Path.GetExtension(name), "application/octet-stream");
        response.ContentLength = content.Length;
        if (name == IndexFile)
        {
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            headers.CacheControl = "no-cache";
        }
        else
        {
            // Asset names carry their content hash: a new build is a new name.
            headers.CacheControl = "public, max-age=31536000, immutable";
        }

        return response.Body.WriteAsync(content, context.RequestAborted).AsTask();
    }

    private static FrozenDictionary<string, byte[]> Load(string root)
    {
        if (!Directory.Exists(root))
        {
            return FrozenDictionary<string, byte[]>.Empty;
        }

        return Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .ToFrozenDictionary(f => Path.GetRelativePath(root, f).Replace('\\', '/'), File.ReadAllBytes, StringComparer.Ordinal);
    }
}
