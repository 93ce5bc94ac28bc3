using Serverless.Handler.Hosting;
using Serverless.Relay.Functions;

namespace Serverless.Handler.FunctionsHost;

/// <summary>
/// Binds every function of the catalog to its handler entry point. The same routes serve both modes: behind the
/// Functions host (which proxies the original request path because <c>routePrefix</c> is empty) and in local mode.
/// Timer functions are served as <c>POST /{Name}</c> with the JSON invocation protocol behind the host, and fired
/// by <see cref="LocalTimerScheduler"/> in local mode. Service Bus functions are served as <c>POST /{Name}</c> in both
/// modes: by the host's trigger, or locally by <see cref="LocalServiceBusQueues"/> over loopback, so both take one path.
/// A function without an entry point, or an entry point without a function, stops start-up: neither can be reached.
/// </summary>
internal static class FunctionRouteMapper
{
    /// <summary>The timer functions of the catalog with their parsed schedules (a bad schedule stops start-up).</summary>
    public static IReadOnlyList<TimerRegistration> TimerRegistrations(FunctionCatalog catalog, IConfiguration configuration) =>
        catalog.Functions
            .Where(f => f.TimerTrigger is not null)
            .Select(f => new TimerRegistration(f.Name, LocalTimerScheduler.ParseSchedule(f.TimerTrigger!.Schedule!, configuration)))
            .ToArray();

    /// <summary>The Service Bus functions of the catalog with their queue names (a <c>%Setting%</c> that is not set stops start-up).</summary>
    public static IReadOnlyList<QueueRegistration> QueueRegistrations(FunctionCatalog catalog, IConfiguration configuration) =>
        catalog.Functions
            .Where(f => f.ServiceBusTrigger is not null)
            .Select(f => new QueueRegistration(f.Name, AppSettingExpression.Resolve(f.ServiceBusTrigger!.QueueName!, "queue", configuration), f.ServiceBusTrigger.Name))
            .ToArray();

    public static void MapFunctions(this WebApplication app, FunctionCatalog catalog, HostingMode mode)
    {
        var entries = app.Services.GetServices<IHttpFunction>().ToDictionary(f => f.Name, StringComparer.Ordinal);
        var timers = app.Services.GetServices<ITimerFunction>().ToDictionary(f => f.Name, StringComparer.Ordinal);
        var queues = app.Services.GetServices<IQueueFunction>().ToDictionary(f => f.Name, StringComparer.Ordinal);
        var problems = new List<string>();

        foreach (var function in catalog.Functions)
        {
            if (function.TimerTrigger is { } timerTrigger)
            {
                if (!timers.Remove(function.Name, out var timer))
                {
                    problems.Add($"{function.Name}: function.json has no handler entry point");
                }
                else if (mode == HostingMode.CustomHandler)
                {
                    app.MapTimer(function.Name, timerTrigger.Name, timer, catalog.InvocationDeadline);
                }

                continue;
            }

            if (function.ServiceBusTrigger is { } queueTrigger)
            {
                if (!queues.Remove(function.Name, out var queue))
                {
                    problems.Add($"{function.Name}: function.json has no handler entry point");
                }
                else
                {
                    app.MapQueue(function.Name, queueTrigger.Name, queue, catalog.QueueInvocationDeadline, loopbackOnly: mode == HostingMode.Local);
                }

                continue;
            }

            if (function.Protocol != InvocationProtocol.ProxiedHttp)
            {
                entries.Remove(function.Name);
                // The host would not refuse it: it would invoke it with the JSON protocol (Data.req in, Outputs.res out),
                // which this handler serves for timers only. Better to stop here than to answer it the wrong way.
                problems.Add(function.HttpTrigger is null
                    ? $"{function.Name}: only proxied HTTP functions (one httpTrigger in, one http out), timer functions (one timerTrigger) and Service Bus functions (one serviceBusTrigger on a queue) are served by this handler"
                    : $"{function.Name}: its bindings are not exactly one httpTrigger in and one http out, so the host would use the JSON invocation protocol, which this handler serves only for timer and Service Bus functions");
                continue;
            }

            if (!entries.Remove(function.Name, out var entry))
            {
                problems.Add($"{function.Name}: function.json has no handler entry point");
                continue;
            }

            var trigger = function.HttpTrigger!;
            if (trigger.Methods.Count == 0)
            {
                // As the host does: no methods means every method.
                app.Map("/" + function.HttpRoute, entry.InvokeAsync).WithName(function.Name);
                continue;
            }

            app.MapMethods("/" + function.HttpRoute, trigger.Methods, entry.InvokeAsync).WithName(function.Name);
        }

        problems.AddRange(entries.Keys.Concat(timers.Keys).Concat(queues.Keys).Select(name => $"{name}: handler entry point has no function.json"));
        if (problems.Count > 0)
        {
            throw new FunctionCatalogException("The app's functions do not match the handler: " + string.Join("; ", problems));
        }
    }
}
