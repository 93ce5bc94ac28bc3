using System.Globalization;

namespace Serverless.Bench;

/// <summary>
/// Where the relay's OTLP exporter sends when the bench runs with <c>BENCH_TELEMETRY=on</c>: accepts
/// <c>POST /v1/traces</c> and <c>/v1/metrics</c> (OTLP over HTTP, protobuf), reads and drops the body and answers the
/// empty success message, so the relay's whole pipeline (sampling, batching, serialization, sending) runs for real.
/// <c>GET /stats</c> tells how many exports and bytes arrived, to prove it did.
/// </summary>
internal static class OtlpSink
{
    public static async Task<int> RunAsync(CommandLine options)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, options.Int("port", 0)));
        var app = builder.Build();
        long traces = 0, metrics = 0, bytes = 0;
        app.MapPost("/v1/{signal}", async context =>
        {
            var signal = context.Request.RouteValues["signal"] as string;
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            Interlocked.Add(ref bytes, body.Length);
            Interlocked.Increment(ref signal == "traces" ? ref traces : ref metrics);
            context.Response.ContentType = "application/x-protobuf";
        });
        app.MapGet("/stats", () => Results.Text(
            $"{{\"traceExports\":{Interlocked.Read(ref traces)},\"metricExports\":{Interlocked.Read(ref metrics)},\"bytes\":{Interlocked.Read(ref bytes)}}}",
            "application/json"));
        await app.StartAsync();

        var url = app.Urls.First();
        if (options.Optional("ready-file") is { } readyFile)
        {
            await File.WriteAllTextAsync(readyFile, new Uri(url).Port.ToString(CultureInfo.InvariantCulture));
        }

        await Console.Out.WriteLineAsync("OTLP sink listening on " + url);
        await app.WaitForShutdownAsync();
        return 0;
    }
}
