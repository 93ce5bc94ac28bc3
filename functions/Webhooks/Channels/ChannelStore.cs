using System.Collections.Concurrent;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Serverless.Relay.Audit;
using Serverless.Relay.Errors;
using Serverless.Relay.Keys;
using Serverless.Relay.Secrets;
using Serverless.Relay.Storage;

namespace Serverless.Webhooks.Channels;

/// <summary>
/// The <c>{prefix}channels</c> table: PK <c>channel</c>, RK = id; columns Platform (wire name), Name, Model,
/// SystemPrompt, KeyId, PerUserLimits (JSON), ApiBaseUrl, Enabled, CreatedAt and
/// Credentials: every credential as one JSON object, encrypted with <see cref="SecretProtector"/> and bound to the
/// row and column, so it cannot be copied to another channel. Webhooks read channels by id through a per-instance
/// cache (<see cref="CacheTtl"/>), unknown ids included, so a flood of webhooks for a wrong id costs one read per TTL,
/// and webhooks that miss together share one read.
/// </summary>
internal sealed partial class ChannelStore(RelayTables tables, SecretProtector protector, TimeProvider time, ILogger<ChannelStore> logger)
{
    public const string Table = "channels";
    public const string IdPrefix = "chan";
    internal const string PartitionKey = "channel";
    internal const string CredentialsColumn = "Credentials";
    private const int MaxCached = 10_000;

    /// <summary>The credentials, for key rotation.</summary>
    internal static readonly EncryptedColumns EncryptedColumns = new(Table, [CredentialsColumn]);

    /// <summary>How long an instance serves a channel from memory; an admin change reaches other instances within it.</summary>
    public static readonly TimeSpan CacheTtl = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, (Channel? Channel, long Until)> _cache = new(StringComparer.Ordinal);
    private readonly SharedReads<string, Channel?> _reads = new(StringComparer.Ordinal);
    private readonly RecordTable<Channel> _records = new(tables, new RecordShape<Channel>(
        Table,
        PartitionKey,
        channel => ToEntity(channel, protector),
        entity => FromEntity(entity, protector, logger),
        channel => channel.CreatedAt,
        (stored, changed) => changed with { Id = stored.Id, CreatedAt = stored.CreatedAt },
        NotFound));

    public static RelayError NotFound(string id) => new(ErrorKind.NotFound, $"no channel has id '{id}'");

    public static string OwnerOf(string channelId) => "channel:" + channelId;

    /// <summary>The channel for a webhook: from memory when read within <see cref="CacheTtl"/>; null when there is none.</summary>
    public async ValueTask<Channel?> GetAsync(string id, CancellationToken cancellationToken)
    {
        if (!StorageIds.IsWellFormed(IdPrefix, id))
        {
            return null;
        }

        var now = time.GetTimestamp();
        if (_cache.TryGetValue(id, out var cached) && now < cached.Until)
        {
            return cached.Channel;
        }

        // Webhooks of one channel that miss together share its read (SharedReads says why): a busy chat's messages
        // arriving as the entry expires made a read each.
        var channel = await _reads.ReadAsync(id, missed => GetIfExistsAsync(missed, CancellationToken.None), cancellationToken).ConfigureAwait(false);
        if (_cache.Count >= MaxCached)
        {
            // NOTE: ids in webhook URLs are the caller's choice: expired entries go, and unknown ids stop being remembered
            // rather than letting random ids grow the cache without bound.
            foreach (var (key, entry) in _cache)
            {
                if (now >= entry.Until)
                {
                    _cache.TryRemove(key, out _);
                }
            }
        }

        if (channel is not null || _cache.Count < MaxCached)
        {
            _cache[id] = (channel, now + (long)(CacheTtl.TotalSeconds * time.TimestampFrequency));
        }

        return channel;
    }

    /// <summary>Read from storage, bypassing the cache (the admin API).</summary>
    public Task<Channel?> GetIfExistsAsync(string id, CancellationToken cancellationToken) => _records.GetAsync(id, cancellationToken);

    /// <summary>Every channel, in creation order; rows of an unknown platform are left out.</summary>
    public Task<IReadOnlyList<Channel>> ListAsync(CancellationToken cancellationToken) => _records.ListAsync(cancellationToken);

    public async Task CreateAsync(Channel channel, CancellationToken cancellationToken)
    {
        await _records.CreateAsync(channel, cancellationToken).ConfigureAwait(false);
        _cache.TryRemove(channel.Id, out _);
    }

    public async Task<Result<Channel>> UpdateAsync(string id, Func<Channel, Result<Channel>> change, CancellationToken cancellationToken)
    {
        var result = await _records.UpdateAsync(id, change, cancellationToken).ConfigureAwait(false);
        _cache.TryRemove(id, out _);
        return result;
    }

    public Task<bool> DeleteAsync(string id, CancellationToken cancellationToken)
    {
        _cache.TryRemove(id, out _);
        return _records.DeleteAsync(id, cancellationToken);
    }

    internal static string ScopeOf(string id) => SecretProtector.ScopeOf(Table, PartitionKey, id, CredentialsColumn);

    private static TableEntity ToEntity(Channel channel, SecretProtector protector) => new(PartitionKey, channel.Id)
    {
        ["Platform"] = channel.Platform.WireName(),
        ["Name"] = channel.Name,
        ["Model"] = channel.Model,
        ["SystemPrompt"] = channel.SystemPrompt,
        ["KeyId"] = channel.KeyId,
        ["PerUserLimits"] = channel.PerUserLimits.IsEmpty ? null : channel.PerUserLimits.ToJson(),
        ["Audit"] = channel.Audit == AuditMode.Hashes ? null : channel.Audit.WireName(),
        ["ApiBaseUrl"] = channel.ApiBaseUrl.AbsoluteUri,
        ["Enabled"] = channel.Enabled,
        ["CreatedAt"] = channel.CreatedAt,
        [CredentialsColumn] = protector.Protect(StorageJson.WriteMap(channel.Credentials), ScopeOf(channel.Id)),
    };

    private static Channel? FromEntity(TableEntity entity, SecretProtector protector, ILogger logger)
    {
        if (!ChannelPlatforms.TryParse(entity.GetString("Platform"), out var platform)
            || !Uri.TryCreate(entity.GetString("ApiBaseUrl"), UriKind.Absolute, out var apiBaseUrl))
        {
            return null;
        }

        IReadOnlyDictionary<string, string> credentials = new Dictionary<string, string>(StringComparer.Ordinal);
        if (entity.GetString(CredentialsColumn) is { } stored)
        {
            if (protector.TryUnprotect(stored, ScopeOf(entity.RowKey), out var json, out var error))
            {
                credentials = new Dictionary<string, string>(StorageJson.ReadMap(json), StringComparer.Ordinal);
            }
            else
            {
                // The channel stays listed; without credentials every webhook is refused until an admin sets them again.
                Log.CredentialsUnreadable(logger, entity.RowKey, error);
            }
        }

        return new Channel
        {
            Id = entity.RowKey,
            Platform = platform.Platform,
            Name = entity.GetString("Name") ?? "",
            Model = entity.GetString("Model") ?? "",
            SystemPrompt = entity.GetString("SystemPrompt"),
            KeyId = entity.GetString("KeyId") ?? "",
            PerUserLimits = KeyLimits.FromJson(entity.GetString("PerUserLimits")),
            Audit = AuditModes.Parse(entity.GetString("Audit")) ?? AuditMode.Hashes,
            ApiBaseUrl = apiBaseUrl,
            Credentials = credentials,
            Enabled = entity.GetBoolean("Enabled") ?? true,
            CreatedAt = entity.GetDateTimeOffset("CreatedAt") ?? default,
        };
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4000, Level = LogLevel.Error, Message = "The credentials of channel {ChannelId} cannot be decrypted ({Error}); its webhooks are refused until they are set again")]
        public static partial void CredentialsUnreadable(ILogger logger, string channelId, SecretError error);
    }
}
