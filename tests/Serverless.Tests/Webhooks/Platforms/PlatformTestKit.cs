using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.Extensions.Time.Testing;
using Serverless.Webhooks.Channels;
using Serverless.Webhooks.Platforms;

namespace Serverless.Tests.Webhooks.Platforms;

/// <summary>Channels, webhook requests and platform instances for the adapter tests.</summary>
internal static class PlatformTestKit
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    public static Channel Channel(ImPlatform platform, Uri apiBaseUrl, params (string Name, string Value)[] credentials) => new()
    {
        Id = "ch-" + Guid.NewGuid().ToString("N")[..10],
        Platform = platform,
        Name = "test",
        Model = "gpt-test",
        KeyId = "key-1",
        ApiBaseUrl = apiBaseUrl,
        Credentials = credentials.ToDictionary(c => c.Name, c => c.Value),
        CreatedAt = DateTimeOffset.UnixEpoch,
    };

    public static WebhookRequest Post(string body, params (string Name, string Value)[] headers) =>
        Post(Encoding.UTF8.GetBytes(body), [], headers);

    public static WebhookRequest Post(byte[] body, (string Name, string Value)[] query, params (string Name, string Value)[] headers) =>
        new("POST", body, Headers(headers), Query(query));

    public static WebhookRequest Get(params (string Name, string Value)[] query) => new("GET", Array.Empty<byte>(), Headers([]), Query(query));

    public static PlatformHttp Http() => new(Options.Create(new PlatformOptions()));

    /// <summary>A token cache whose table no test shares (own prefix) on the run's Azurite.</summary>
    public static PlatformTokenCache TokenCache(IServiceProvider storage, TimeProvider time) =>
        new(new PlatformTokenStore(
                storage.GetRequiredService<Serverless.Relay.Storage.RelayTables>(),
                storage.GetRequiredService<Serverless.Relay.Secrets.SecretProtector>()),
            Options.Create(new PlatformOptions { TokenLeasePollInterval = TimeSpan.FromMilliseconds(20) }),
            time,
            NullLogger<PlatformTokenCache>.Instance);

    public static FakeTimeProvider Clock(DateTimeOffset now) => new(now);

    public static T Accepted<T>(WebhookVerdict verdict) where T : WebhookVerdict =>
        verdict as T ?? throw new Xunit.Sdk.XunitException($"expected {typeof(T).Name}, got {verdict}");

    public static InboundMessage Message(WebhookVerdict verdict) => Accepted<WebhookVerdict.Accepted>(verdict).Message;

    private static HeaderDictionary Headers((string Name, string Value)[] headers)
    {
        var dictionary = new HeaderDictionary();
        foreach (var (name, value) in headers)
        {
            dictionary[name] = value;
        }

        return dictionary;
    }

    private static QueryCollection Query((string Name, string Value)[] query) =>
        new(query.ToDictionary(q => q.Name, q => new StringValues(q.Value)));
}
