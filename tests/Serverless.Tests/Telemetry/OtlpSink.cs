using System.Net;
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
/// A loopback OTLP/HTTP receiver: keeps the raw protobuf body of every export and answers the empty success message.
/// Strings travel in protobuf as plain UTF-8, so a search of the bytes finds any text the relay exported.
/// </summary>
internal sealed class OtlpSink : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Lock _gate = new();
    private readonly List<(string Path, byte[] Body)> _exports = [];

    private OtlpSink(WebApplication app)
    {
        _app = app;
        _app.MapPost("/v1/{signal}", async context =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            lock (_gate)
            {
                _exports.Add((context.Request.Path.Value ?? "", body.ToArray()));
            }

            context.Response.ContentType = "application/x-protobuf";
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

    public static async Task<OtlpSink> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var sink = new OtlpSink(builder.Build());
        await sink._app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var address = sink._app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        sink.Root = new Uri(address);
        return sink;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }
}
