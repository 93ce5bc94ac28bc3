using System.Net.Http.Json;
using Serverless.Tests.EndToEnd;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.Limits;

/// <summary>
/// A relay (in process, real clock) with OpenAI, Anthropic and Gemini accounts on one loopback upstream, and a price
/// table for their upstream models: every kind of token at 100 USD per 1M, so a fake answer (21 input, 5 cache read,
/// 7 output; Anthropic adds 3 cache write) costs 3,300 micro-USD (Anthropic 3,600).
/// </summary>
public sealed class LimitedRelay(AzuriteFixture azurite) : IAsyncLifetime
{
    public const decimal PricePerMillion = 100m;

    internal RelayHost Host { get; private set; } = null!;

    internal LoopbackUpstream Upstream { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Upstream = await LoopbackUpstream.StartAsync(CancellationToken.None);
        Host = await RelayHost.StartAsync(azurite);
        foreach (var provider in new[] { "openai", "anthropic", "gemini" })
        {
            await Host.CreateAccountAsync(new
            {
                name = provider,
                provider,
                baseUrl = provider switch
                {
                    "anthropic" => Upstream.AnthropicBaseUrl,
                    "gemini" => Upstream.GeminiBaseUrl,
                    _ => Upstream.OpenAIBaseUrl,
                },
                apiKey = Upstream.ApiKey,
                models = new[] { RelayWithUpstreams.ModelFor(provider) },
                modelMap = new Dictionary<string, string> { [RelayWithUpstreams.ModelFor(provider)] = RelayWithUpstreams.UpstreamModels[provider] },
            });
        }

        await PutPricesAsync();
    }

    /// <summary>Puts the test price table (again, after a test changed it).</summary>
    public async Task PutPricesAsync()
    {
        var prices = new[] { "gpt-test", "claude-test", "gemini-test" }
            .Select(model => new { model, input = PricePerMillion, output = PricePerMillion, cacheRead = PricePerMillion, cacheWrite = PricePerMillion });
        using var response = await Host.Admin.PutAsJsonAsync("api/admin/pricing", new { prices }).WaitAsync(TimeSpan.FromSeconds(30));
        response.EnsureSuccessStatusCode();
    }

    /// <summary>Creates a key with these limits; returns its plaintext and id.</summary>
    public async Task<(string Key, string Id)> CreateKeyAsync(object limits, string? owner = null, string role = "user")
    {
        var (id, key) = await Host.CreateKeyWithIdAsync(new { name = "limited", owner, role, limits });
        return (key, id);
    }

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        await Upstream.DisposeAsync();
    }
}
