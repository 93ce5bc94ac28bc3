using System.Net;
using Microsoft.Net.Http.Headers;

// The bench's floor (Forwarder.csproj says why): POST /v1/chat/completions relayed to --upstream as bytes, the
// client's Authorization passed on, the answer streamed back read by read (each write of Kestrel's response stream is
// flushed, so an event the upstream sends reaches the client as the relay's do).
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var upstream = new Uri(builder.Configuration["upstream"] is { Length: > 0 } root
    ? root.TrimEnd('/') + "/v1/chat/completions"
    : throw new ArgumentException("--upstream URL is required"));

// As functions/Relay/Providers/UpstreamHttp.cs builds its handler, with the same connection cap.
using var invoker = new HttpMessageInvoker(new SocketsHttpHandler
{
    MaxConnectionsPerServer = 128,
    AutomaticDecompression = DecompressionMethods.None,
    UseCookies = false,
    AllowAutoRedirect = false,
});

var app = builder.Build();
app.MapGet("/", () => "ok");
app.MapPost("/v1/chat/completions", async context =>
{
    using var request = new HttpRequestMessage(HttpMethod.Post, upstream)
    {
        Content = new StreamContent(context.Request.Body),
    };
    request.Content.Headers.ContentType = new(context.Request.ContentType ?? "application/json");
    request.Content.Headers.ContentLength = context.Request.ContentLength;
    request.Headers.TryAddWithoutValidation(HeaderNames.Authorization, context.Request.Headers.Authorization.ToString());

    using var response = await invoker.SendAsync(request, context.RequestAborted);
    context.Response.StatusCode = (int)response.StatusCode;
    context.Response.ContentType = response.Content.Headers.ContentType?.ToString();
    context.Response.ContentLength = response.Content.Headers.ContentLength;
    await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
});
app.Run();
