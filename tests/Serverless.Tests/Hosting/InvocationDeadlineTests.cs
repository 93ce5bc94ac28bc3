using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serverless.Handler.FunctionsHost;
using Serverless.Tests.Infrastructure;
using Xunit;

namespace Serverless.Tests.Hosting;

/// <summary>
/// Issue 10: a timer or queue invocation that outlives host.json's functionTimeout makes the host restart the one
/// handler process (every stream on the instance is cut). The handler stops such work itself, before that.
/// </summary>
public sealed class InvocationDeadlineTests
{
    [Theory]
    [InlineData("00:10:00", 540)]   // the app's host.json: a tenth before
    [InlineData("00:02:00", 90)]    // at least 30 s before
    [InlineData(null, 1620)]        // Flex Consumption's default of 30 min
    public void InvocationDeadline_IsBeforeTheHostsFunctionTimeout(string? functionTimeout, int expectedSeconds)
    {
        var root = AppRoot.Empty();
        var host = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(root, "host.json")))!.AsObject();
        host.Remove("functionTimeout");
        if (functionTimeout is not null)
        {
            host["functionTimeout"] = functionTimeout;
        }

        File.WriteAllText(Path.Combine(root, "host.json"), host.ToJsonString());

        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), FunctionCatalog.Load(root).InvocationDeadline);
    }

    [Fact]
    public void QueueInvocationDeadline_OfTheAppsHostJson_IsBeforeTheLockRenewalEnds()
    {
        var catalog = FunctionCatalog.Load(AppContext.BaseDirectory);

        Assert.Equal(TimeSpan.FromMinutes(5), catalog.LockRenewal);
        Assert.Equal(TimeSpan.FromSeconds(270), catalog.QueueInvocationDeadline);
        Assert.True(catalog.QueueInvocationDeadline < catalog.InvocationDeadline);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("00:00:30")]
    [InlineData("ten minutes")]
    public void Load_FunctionTimeoutUnboundedOrTooShort_Refused(string functionTimeout)
    {
        var root = AppRoot.Empty();
        var host = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(root, "host.json")))!.AsObject();
        host["functionTimeout"] = functionTimeout;
        File.WriteAllText(Path.Combine(root, "host.json"), host.ToJsonString());

        var error = Assert.Throws<FunctionCatalogException>(() => FunctionCatalog.Load(root));
        Assert.Contains("functionTimeout", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invocation_RunningPastTheDeadline_IsCancelledAndAnswered500()
    {
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        await using var app = builder.Build();
        app.MapInvocation("Slow", TimeSpan.FromMilliseconds(200), async (_, ct) =>
        {
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            finally
            {
                cancelled.TrySetResult();
            }
        });
        await app.StartAsync(TestContext.Current.CancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var response = await http.PostAsync(address + "/Slow", new StringContent("""{"Data":{},"Metadata":{}}""", Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);

        Assert.Equal(500, (int)response.StatusCode);
        Assert.True(cancelled.Task.IsCompleted, "the run was not cancelled");
        var logs = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement.GetProperty("Logs");
        Assert.Contains("deadline", logs[0].GetString(), StringComparison.Ordinal);
        await app.StopAsync(TestContext.Current.CancellationToken);
    }
}
