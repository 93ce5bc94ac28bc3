using Microsoft.Extensions.DependencyInjection;
using Serverless.Relay.Accounts;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.EndToEnd;

/// <summary>
/// A running relay with one account per provider, all pointed at one loopback upstream. Client model
/// <c>m-&lt;provider&gt;</c> routes to that provider's account, which maps it to a different upstream model name.
/// </summary>
public sealed class RelayWithUpstreams(AzuriteFixture azurite) : IAsyncLifetime
{
    public static readonly IReadOnlyDictionary<string, string> UpstreamModels = new Dictionary<string, string>
    {
        ["openai"] = "gpt-test",
        ["azure-openai"] = "deploy-test",
        ["anthropic"] = "claude-test",
        ["gemini"] = "gemini-test",
        ["openrouter"] = "vendor/router-test",
        ["ollama"] = "llama-test",
        ["openai-compatible"] = "compat-test",
    };

    internal RelayHost Host { get; private set; } = null!;

    internal LoopbackUpstream Upstream { get; private set; } = null!;

    private readonly List<string> _accountIds = [];

    /// <summary>A client key allowed every model.</summary>
    public string Key { get; private set; } = "";

    public static string ModelFor(string provider) => "m-" + provider;

    /// <summary>A model the provider's account serves under its own name (no model map), so bodies can pass through untouched.</summary>
    public static string ExactModelFor(string provider) => "exact-" + provider;

    public async ValueTask InitializeAsync()
    {
        Upstream = await LoopbackUpstream.StartAsync(CancellationToken.None);
        Host = await RelayHost.StartAsync(azurite);
        foreach (var account in Accounts(Upstream))
        {
            _accountIds.Add(await Host.CreateAccountAsync(account));
        }

        Key = await Host.CreateKeyAsync(new { name = "matrix", owner = "user-1" });
    }

    /// <summary>One account per provider on <paramref name="upstream"/>, serving <see cref="ModelFor"/> (mapped) and <see cref="ExactModelFor"/>.</summary>
    public static IEnumerable<object> Accounts(LoopbackUpstream upstream) =>
        UpstreamModels.Select(pair => (object)new
        {
            name = pair.Key + " account",
            provider = pair.Key,
            baseUrl = pair.Key switch
            {
                "anthropic" => upstream.AnthropicBaseUrl,
                "gemini" => upstream.GeminiBaseUrl,
                "azure-openai" => upstream.AzureBaseUrl,
                _ => upstream.OpenAIBaseUrl,
            },
            apiVersion = pair.Key == "azure-openai" ? "2024-10-21" : null,
            apiKey = upstream.ApiKey,
            models = new[] { ModelFor(pair.Key), ExactModelFor(pair.Key) },
            modelMap = new Dictionary<string, string> { [ModelFor(pair.Key)] = pair.Value },
        });

    /// <summary>
    /// Clears the marks (cool-downs, open circuits, disabled accounts) that earlier tests' simulated failures left, so
    /// each test starts with every account available and a well-behaved upstream.
    /// </summary>
    public void StartClean()
    {
        Upstream.Reset();
        var health = Host.Services.GetRequiredService<AccountHealth>();
        foreach (var id in _accountIds)
        {
            health.Reset(id);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        await Upstream.DisposeAsync();
    }
}
