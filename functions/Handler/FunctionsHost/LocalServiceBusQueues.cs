using System.Net.Http.Headers;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using Serverless.Webhooks.Messaging;

namespace Serverless.Handler.FunctionsHost;

/// <summary>
/// Local mode plays the Service Bus trigger: for every <c>serviceBusTrigger</c> function it polls the Azurite Storage
/// queue that stands in for the function's queue (<see cref="LocalSessionQueue"/>) and invokes the function the way the
/// host does, with a JSON invocation POSTed to the handler's own <c>/{FunctionName}</c> on loopback. Handler code cannot
/// tell the two apart. Queues (and their <c>-poison</c> queues) are created at start.
/// </summary>
internal sealed partial class LocalServiceBusQueues(
    IReadOnlyList<QueueRegistration> registrations,
    LocalQueues queues,
    LocalQueueWakeup wakeup,
    IOptions<LocalQueueOptions> options,
    IServer server,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    ILogger<LocalServiceBusQueues> logger) : BackgroundService
{
    private readonly HttpClient _http = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = Timeout.InfiniteTimeSpan };
    private Uri? _handler;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (registrations.Count == 0)
        {
            return;
        }

        // The handler's address is known once the server listens.
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        using (stoppingToken.Register(() => started.TrySetCanceled(stoppingToken)))
        {
            try
            {
                await started.Task.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        _handler = HandlerAddress(server.Features.Get<IServerAddressesFeature>()?.Addresses ?? []);
        var running = new List<Task>();
        foreach (var registration in registrations)
        {
            running.Add(RunQueueAsync(registration, stoppingToken));
        }

        await Task.WhenAll(running).ConfigureAwait(false);
    }

    private async Task RunQueueAsync(QueueRegistration registration, CancellationToken stoppingToken)
    {
        LocalSessionQueue queue;
        var name = queues.NameOf(registration.QueueName);
        var retry = TimeSpan.FromMilliseconds(200);
        while (true)
        {
            try
            {
                var client = await queues.GetAsync(registration.QueueName, stoppingToken).ConfigureAwait(false);
                var poison = await queues.GetAsync(registration.QueueName + LocalQueues.PoisonSuffix, stoppingToken).ConfigureAwait(false);
                queue = new LocalSessionQueue(registration, client, poison, options.Value, InvokeAsync, wakeup, time, logger);
                break;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Azurite may start after the handler: keep trying, as the host's listener does.
                Log.QueueUnavailable(logger, name, e);
                try
                {
                    await Task.Delay(retry, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
            }
        }

        Log.Listening(logger, registration.FunctionName, name);
        using (queue)
        {
            await queue.RunAsync(stoppingToken).ConfigureAwait(false);
        }
    }

    /// <returns>True when the function answered 2xx.</returns>
    private async Task<bool> InvokeAsync(QueueRegistration function, LocalSessionQueue.Held message, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_handler!, function.FunctionName))
        {
            Content = new ByteArrayContent(LocalInvocationRequest.Write(function, message.Envelope, message.DequeueCount, time.GetUtcNow())),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add("X-Azure-Functions-InvocationId", Guid.NewGuid().ToString());
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        return response.IsSuccessStatusCode;
    }

    /// <summary>Where the host would call the handler: loopback, on the port it listens on (http preferred).</summary>
    internal static Uri HandlerAddress(ICollection<string> addresses)
    {
        var address = addresses.FirstOrDefault(a => a.StartsWith("http://", StringComparison.OrdinalIgnoreCase)) ?? addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("the handler listens on no address, so local queues cannot invoke it");
        // Wildcards and host names ("http://+:7071", "http://[::]:80", "http://localhost:7071") as Kestrel reports them.
        var port = int.Parse(address[(address.LastIndexOf(':') + 1)..].TrimEnd('/'), System.Globalization.CultureInfo.InvariantCulture);
        var scheme = address[..address.IndexOf("://", StringComparison.Ordinal)];
        var host = address.Contains("[::1]", StringComparison.Ordinal) ? "[::1]" : "127.0.0.1";
        return new Uri($"{scheme}://{host}:{port}/");
    }

    public override void Dispose()
    {
        base.Dispose();
        _http.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 36, Level = LogLevel.Information, Message = "{Function} is triggered by the local queue {Queue}")]
        public static partial void Listening(ILogger logger, string function, string queue);

        [LoggerMessage(EventId = 37, Level = LogLevel.Warning, Message = "The local queue {Queue} cannot be created yet; trying again")]
        public static partial void QueueUnavailable(ILogger logger, string queue, Exception exception);
    }
}
