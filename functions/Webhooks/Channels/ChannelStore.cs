using System.Collections.Concurrent;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
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
/// cache (<see cref="CacheTtl"/>), unknown ids included, so a flood of webhooks for a wrong id costs one read per TTL.
/// </summary>
internal sealed partial class ChannelStore(RelayTables tables, SecretProtector protector, TimeProvider time, ILogger<ChannelStore> logger)
{
    public const string Table = "channels";
    public const string IdPrefix = "chan";
    internal const string PartitionKey = "channel";
    internal const string CredentialsColumn = "Credentials";
    private const int MaxUpdateAttempts = 5;
    private const int MaxCached = 10_000;

    /// <summary>The credentials, for key rotation.</summary>
    internal static readonly EncryptedColumns EncryptedColumns = new(Table, [CredentialsColumn]);

    /// <summary>How long an instance serves a channel from memory; an admin change reaches other instances within it.</summary>
    public static readonly TimeSpan CacheTtl = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, (Channel? Channel, long Until)> _cache = new(StringComparer.Ordinal);

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

        var channel = await GetIfExistsAsync(id, cancellationToken).ConfigureAwait(false);
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
    public async Task<Channel?> GetIfExistsAsync(string id, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken).ConfigureAwait(false);
        var response = await table.GetEntityIfExistsAsync<TableEntity>(PartitionKey, id, cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.HasValue ? FromEntity(response.Value!) : null;
    }

    /// <summary>Every channel, in creation order; rows of an unknown platform are left out.</summary>
    public async Task<IReadOnlyList<Channel>> ListAsync(CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken).ConfigureAwait(false);
        var channels = new List<Channel>();
        await foreach (var entity in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {PartitionKey}"), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (FromEntity(entity) is { } channel)
            {
                channels.Add(channel);
            }
        }

        channels.Sort((a, b) => a.CreatedAt.CompareTo(b.CreatedAt));
        return channels;
    }

    public async Task CreateAsync(Channel channel, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken).ConfigureAwait(false);
        await table.AddEntityAsync(ToEntity(channel), cancellationToken).ConfigureAwait(false);
        _cache.TryRemove(channel.Id, out _);
    }

    /// <summary>Read, change, write conditional on the ETag; retried when another writer got there first.</summary>
    public async Task<Result<Channel>> UpdateAsync(string id, Func<Channel, Result<Channel>> change, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken).ConfigureAwait(false);
        var result = await ETagUpdate.RunAsync<Result<Channel>>(table, PartitionKey, id, async (current, token) =>
        {
            if (current is null || FromEntity(current) is not { } channel)
            {
                return ETagWrite.Done<Result<Channel>>(NotFound(id));
            }

            var changed = change(channel);
            if (!changed.IsSuccess)
            {
                return ETagWrite.Done(changed);
            }

            var updated = changed.Value! with { Id = id, CreatedAt = channel.CreatedAt };
            try
            {
                await table.UpdateEntityAsync(ToEntity(updated), current.ETag, TableUpdateMode.Replace, token).ConfigureAwait(false);
                return ETagWrite.Done<Result<Channel>>(updated);
            }
            catch (RequestFailedException e) when (e.Status is 404)
            {
                return ETagWrite.Done<Result<Channel>>(NotFound(id));
            }
        }, cancellationToken, MaxUpdateAttempts).ConfigureAwait(false);
        _cache.TryRemove(id, out _);
        return result;
    }

    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken).ConfigureAwait(false);
        _cache.TryRemove(id, out _);

        // NOTE: read first: Azurite answers 204 to a delete of a missing entity, where Azure answers 404.
        var current = await table.GetEntityIfExistsAsync<TableEntity>(PartitionKey, id, select: ["PartitionKey"], cancellationToken).ConfigureAwait(false);
        if (!current.HasValue)
        {
            return false;
        }

        try
        {
            await table.DeleteEntityAsync(PartitionKey, id, ETag.All, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return false;
        }

        return true;
    }

    internal static string ScopeOf(string id) => SecretProtector.ScopeOf(Table, PartitionKey, id, CredentialsColumn);

    private TableEntity ToEntity(Channel channel) => new(PartitionKey, channel.Id)
    {
        ["Platform"] = channel.Platform.WireName(),
        ["Name"] = channel.Name,
        ["Model"] = channel.Model,
        ["SystemPrompt"] = channel.SystemPrompt,
        ["KeyId"] = channel.KeyId,
        ["PerUserLimits"] = channel.PerUserLimits.IsEmpty ? null : channel.PerUserLimits.ToJson(),
        ["ApiBaseUrl"] = channel.ApiBaseUrl.AbsoluteUri,
        ["Enabled"] = channel.Enabled,
        ["CreatedAt"] = channel.CreatedAt,
        [CredentialsColumn] = protector.Protect(StorageJson.WriteMap(channel.Credentials), ScopeOf(channel.Id)),
    };

    private Channel? FromEntity(TableEntity entity)
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
