using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serverless.Handler.FunctionsHost;
using Serverless.Handler.Hosting;
using Serverless.Relay.Functions;
using Serverless.Tests.Infrastructure;
using Serverless.Webhooks.Messaging;
using Xunit;

namespace Serverless.Tests.Messaging;

/// <summary>Behind the Functions host (<c>FUNCTIONS_CUSTOMHANDLER_PORT</c>): the host's trigger invokes, the handler only answers.</summary>
public sealed class HostedQueueFunctionTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task CustomHandlerMode_HostInvocation_RunsTheFunctionWithoutALocalTrigger()
    {
        var ct = TestContext.Current.CancellationToken;
        var root = AppRoot.Copy();
        AppRoot.WriteFunction(root, RecordingQueueFunction.DefaultName, AppRoot.ServiceBusFunctionJson("im-inbound", bindingName: "msg"));
        var function = new RecordingQueueFunction();
        var port = HandlerProcess.FreePort();
        await using var app = HandlerApp.Build([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["FUNCTIONS_CUSTOMHANDLER_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["AzureWebJobsStorage"] = azurite.ConnectionString,
                ["RELAY_TABLE_PREFIX"] = "h" + Guid.NewGuid().ToString("N")[..10],
                ["RELAY_ADMIN_KEY"] = "x",
                ["RELAY_ENCRYPTION_KEYS"] = "k=" + Convert.ToBase64String(new byte[32]),
                ["RELAY_APP_ROOT"] = root,
                ["Logging:LogLevel:Default"] = "Warning",
            });
            builder.Services.AddSingleton<IQueueFunction>(function);
        });
        await app.StartAsync(ct).WaitAsync(TimeSpan.FromSeconds(30), ct);

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(30) };
        using var response = await http.PostAsync(
            RecordingQueueFunction.DefaultName,
            new StringContent("""{"Data":{"msg":"\"{\\\"n\\\":1}\""},"Metadata":{"MessageId":"\"m-1\"","SessionId":"\"chat\"","DeliveryCount":"2","LockToken":"\"t\""}}""", Encoding.UTF8, "application/json"),
            ct);

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("""{"Outputs":{},"Logs":[],"ReturnValue":null}""", await response.Content.ReadAsStringAsync(ct));
        Assert.Equal(new QueueMessage("""{"n":1}""", "m-1", "chat", 2, null), Assert.Single(function.Invocations).Message);
        Assert.DoesNotContain(app.Services.GetServices<IHostedService>(), s => s is LocalServiceBusQueues);
        Assert.IsType<UnconfiguredMessageSender>(app.Services.GetRequiredService<IMessageSender>());
        await app.StopAsync(ct).WaitAsync(TimeSpan.FromSeconds(30), ct);
    }
}
