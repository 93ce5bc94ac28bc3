// TEMPORARY: contracts being implemented on helper branches; deleted when they merge.
#pragma warning disable CA1822
using System.Buffers;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats;

namespace Serverless.Relay.Storage
{
    public static class RelayStorageServiceCollectionExtensions
    {
        public static IServiceCollection AddRelayStorage(this IServiceCollection services, IConfiguration configuration) => services;
    }
}

namespace Serverless.Relay.Keys
{
    internal sealed record ClientKey
    {
        public required string Id { get; init; }
        public required string Name { get; init; }
        public string? Owner { get; init; }
        public IReadOnlyList<string> Models { get; init; } = [];
        public DateTimeOffset? ExpiresAt { get; init; }
        public bool Enabled { get; init; }
        public DateTimeOffset CreatedAt { get; init; }
        public string Hint { get; init; } = "";
        public bool AllowsModel(string model) => true;
        public bool IsExpired(DateTimeOffset now) => false;
    }

    internal interface IClientKeyAuthenticator
    {
        ValueTask<ClientKey?> AuthenticateAsync(string presentedKey, CancellationToken cancellationToken);
    }
}

namespace Serverless.Relay.Accounts
{
    internal sealed record UpstreamAccount
    {
        public required string Id { get; init; }
        public required string Name { get; init; }
        public Serverless.Relay.Providers.ProviderKind Provider { get; init; }
        public string? BaseUrl { get; init; }
        public string? ApiVersion { get; init; }
        public IReadOnlyList<string> Models { get; init; } = [];
        public IReadOnlyDictionary<string, string> ModelMap { get; init; } = new Dictionary<string, string>();
        public int Priority { get; init; }
        public bool Enabled { get; init; }
        public DateTimeOffset CreatedAt { get; init; }
        public string? ApiKey { get; init; }
        public bool Serves(string model) => true;
        public string UpstreamModelFor(string requestedModel) => requestedModel;
    }

    internal interface IAccountDirectory
    {
        ValueTask<IReadOnlyList<UpstreamAccount>> GetAllAsync(CancellationToken cancellationToken);
    }

    internal static class ModelPattern
    {
        public static bool IsMatch(string pattern, string model) => true;
    }
}

namespace Serverless.Relay.Metering
{
    internal sealed record UsageRecord
    {
        public required string RequestId { get; init; }
        public required string KeyId { get; init; }
        public string? Owner { get; init; }
        public string? AccountId { get; init; }
        public required string ClientApi { get; init; }
        public required string RequestedModel { get; init; }
        public string? UpstreamModel { get; init; }
        public string? Provider { get; init; }
        public bool Stream { get; init; }
        public int Status { get; init; }
        public string? Error { get; init; }
        public Usage Usage { get; init; } = Usage.Empty;
        public double LatencyMs { get; init; }
        public double? TimeToFirstByteMs { get; init; }
        public DateTimeOffset Timestamp { get; init; }
    }

    internal interface IUsageSink
    {
        void Record(UsageRecord record);
    }
}

