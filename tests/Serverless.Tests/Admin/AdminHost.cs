using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serverless.Relay.Functions;
using Serverless.Relay.Storage;
using Serverless.Relay;

namespace Serverless.Tests.Admin;

/// <summary>The admin function on Kestrel, loopback, random port: routed the way the handler routes it.</summary>
internal sealed class AdminHost : IAsyncDisposable
{
    private AdminHost(WebApplication app, HttpClient client)
    {
        App = app;
        Client = client;
    }

    public WebApplication App { get; }

    public HttpClient Client { get; }

    public IServiceProvider Services => App.Services;

    public static async Task<AdminHost> StartAsync(IDictionary<string, string?> settings, TimeProvider time, CancellationToken ct)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddSingleton(time);
        builder.Services.AddRelayStorage(builder.Configuration);
        var app = builder.Build();
        var admin = app.Services.GetServices<IHttpFunction>().Single(f => f.Name == "Admin");
        app.Map("api/admin/{*path}", context => admin.InvokeAsync(context));
        await app.StartAsync(ct);
        var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()), Timeout = TimeSpan.FromSeconds(20) };
        return new AdminHost(app, client);
    }

    public async Task<Answer> SendAsync(HttpMethod method, string path, string? json = null, string? adminKey = "admin-secret", CancellationToken ct = default)
    {
        using var request = new HttpRequestMessage(method, path);
        if (adminKey is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
        }

        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        using var response = await Client.SendAsync(request, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        return new Answer((int)response.StatusCode, body, response);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}

internal sealed record Answer(int Status, string Body, HttpResponseMessage Response)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;

    public string? ErrorMessage => Json.GetProperty("error").GetProperty("message").GetString();

    public string? ErrorParam => Json.GetProperty("error").GetProperty("param").GetString();
}
