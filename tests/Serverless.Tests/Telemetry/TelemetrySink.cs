using System.IO.Compression;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Serverless.Tests.Telemetry;

/// <summary>
/// A loopback receiver of telemetry exports (simulated endpoints): OTLP/HTTP (<c>/v1/{signal}</c>, answered with the
/// empty success message) and Application Insights' ingestion (<c>/v2.1/track</c>, gzip-compressed JSON lines,
/// answered with every item accepted). Keeps every export's decompressed body: protobuf carries strings as plain
/// UTF-8, so a search of the bytes finds any text the relay exported, in either format.
/// </summary>
internal sealed class TelemetrySink : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Lock _gate = new();
    private readonly List<(string Path, byte[] Body)> _exports = [];

    private TelemetrySink(WebApplication app)
    {
        _app = app;
        _app.MapPost("/v1/{signal}", async context =>
        {
            await KeepAsync(context);
            context.Response.ContentType = "application/x-protobuf";
        });
        _app.MapPost("/v2.1/track", async context =>
        {
            var items = Encoding.UTF8.GetString(await KeepAsync(context)).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Length;
            await context.Response.WriteAsJsonAsync(new { itemsReceived = items, itemsAccepted = items, errors = Array.Empty<object>() });
        });
    }

    public Uri Root { get; private set; } = null!;

    public IReadOnlyList<(string Path, byte[] Body)> Exports
    {
        get
        {
            lock (_gate)
            {
                return [.. _exports];
            }
        }
    }

    public static async Task<TelemetrySink> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var sink = new TelemetrySink(builder.Build());
        await sink._app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var address = sink._app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        sink.Root = new Uri(address);
        return sink;
    }

    private async Task<byte[]> KeepAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        var source = context.Request.Headers.ContentEncoding == "gzip"
            ? new GZipStream(context.Request.Body, CompressionMode.Decompress)
            : context.Request.Body;
        await using (source)
        {
            await source.CopyToAsync(body, context.RequestAborted);
        }

        var bytes = body.ToArray();
        lock (_gate)
        {
            _exports.Add((context.Request.Path.Value ?? "", bytes));
        }

        return bytes;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }
}
