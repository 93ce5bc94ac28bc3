using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Serverless.Relay.Errors;
using Serverless.Relay.Secrets;
using Serverless.Relay.Storage;

namespace Serverless.Webhooks.Notifications;

/// <summary>
/// The <c>{prefix}notifications</c> table: PK <c>target</c>, RK = id; columns Type (wire name), Name, Events (comma
/// list), Enabled, CreatedAt and Settings: every setting (URLs included: they carry access tokens) as one JSON object,
/// encrypted with <see cref="SecretProtector"/> and bound to the row and column. The notification path reads the list
/// through a per-instance cache (<see cref="CacheTtl"/>), so a burst of events costs one read.
/// </summary>
internal sealed partial class NotificationStore(RelayTables tables, SecretProtector protector, TimeProvider time, ILogger<NotificationStore> logger)
{
    public const string Table = "notifications";
    public const string IdPrefix = "ntf";
    internal const string PartitionKey = "target";
    internal const string SettingsColumn = "Settings";
    private const int MaxUpdateAttempts = 5;

    /// <summary>The settings, for key rotation.</summary>
    internal static readonly EncryptedColumns EncryptedColumns = new(Table, [SettingsColumn]);

    /// <summary>How long an instance keeps the list of targets; an admin change reaches other instances within it.</summary>
    public static readonly TimeSpan CacheTtl = TimeSpan.FromSeconds(5);

    private readonly Lock _gate = new();
    private (IReadOnlyList<NotificationTarget> Targets, long Until)? _cached;

    public static RelayError NotFound(string id) => new(ErrorKind.NotFound, $"no notification target has id '{id}'");

    /// <summary>Every target, from memory when read within <see cref="CacheTtl"/> (the notification path).</summary>
    public async Task<IReadOnlyList<NotificationTarget>> ListCachedAsync(CancellationToken cancellationToken)
    {
        var now = time.GetTimestamp();
        lock (_gate)
        {
            if (_cached is { } cached && now < cached.Until)
            {
                return cached.Targets;
            }
        }

        var targets = await ListAsync(cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            _cached = (targets, now + (long)(CacheTtl.TotalSeconds * time.TimestampFrequency));
        }

        return targets;
    }

    public async Task<NotificationTarget?> GetIfExistsAsync(string id, CancellationToken cancellationToken)
    {
        if (!StorageIds.IsWellFormed(IdPrefix, id))
        {
            return null;
        }

        var table = await tables.GetAsync(Table, cancellationToken).ConfigureAwait(false);
        var response = await table.GetEntityIfExistsAsync<TableEntity>(PartitionKey, id, cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.HasValue ? FromEntity(response.Value!) : null;
    }

    /// <summary>Every target, in creation order; rows of an unknown type are left out.</summary>
    public async Task<IReadOnlyList<NotificationTarget>> ListAsync(CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken).ConfigureAwait(false);
        var targets = new List<NotificationTarget>();
        await foreach (var entity in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {PartitionKey}"), cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (FromEntity(entity) is { } target)
            {
                targets.Add(target);
            }
        }

        targets.Sort((a, b) => a.CreatedAt.CompareTo(b.CreatedAt));
        return targets;
    }

    public async Task CreateAsync(NotificationTarget target, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(Table, cancellationToken).ConfigureAwait(false);
        await table.AddEntityAsync(ToEntity(target), cancellationToken).ConfigureAwait(false);
        Invalidate();
    }

    /// <summary>Read, change, write conditional on the ETag; retried when another writer got there first.</summary>
    public async Task<Result<NotificationTarget>> UpdateAsync(string id, Func<NotificationTarget, Result<NotificationTarget>> change, CancellationToken cancellationToken)
    {
        if (!StorageIds.IsWellFormed(IdPrefix, id))
        {
            return NotFound(id);
        }

        var table = await tables.GetAsync(Table, cancellationToken).ConfigureAwait(false);
        var result = await ETagUpdate.RunAsync<Result<NotificationTarget>>(table, PartitionKey, id, async (current, token) =>
        {
            if (current is null || FromEntity(current) is not { } target)
            {
                return ETagWrite.Done<Result<NotificationTarget>>(NotFound(id));
            }

            var changed = change(target);
            if (!changed.IsSuccess)
            {
                return ETagWrite.Done(changed);
            }

            var updated = changed.Value! with { Id = id, Type = target.Type, CreatedAt = target.CreatedAt };
            try
            {
                await table.UpdateEntityAsync(ToEntity(updated), current.ETag, TableUpdateMode.Replace, token).ConfigureAwait(false);
                return ETagWrite.Done<Result<NotificationTarget>>(updated);
            }
            catch (RequestFailedException e) when (e.Status is 404)
            {
                return ETagWrite.Done<Result<NotificationTarget>>(NotFound(id));
            }
        }, cancellationToken, MaxUpdateAttempts).ConfigureAwait(false);
        Invalidate();
        return result;
    }

    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken)
    {
        if (!StorageIds.IsWellFormed(IdPrefix, id))
        {
            return false;
        }

        var table = await tables.GetAsync(Table, cancellationToken).ConfigureAwait(false);

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
        finally
        {
            Invalidate();
        }

        return true;
    }

    internal static string ScopeOf(string id) => SecretProtector.ScopeOf(Table, PartitionKey, id, SettingsColumn);

    private void Invalidate()
    {
        lock (_gate)
        {
            _cached = null;
        }
    }

    private TableEntity ToEntity(NotificationTarget target) => new(PartitionKey, target.Id)
    {
        ["Type"] = target.Type.WireName(),
        ["Name"] = target.Name,
        ["Events"] = string.Join(',', NotificationTypes.EventNames(target.Events)),
        ["Enabled"] = target.Enabled,
        ["CreatedAt"] = target.CreatedAt,
        [SettingsColumn] = protector.Protect(StorageJson.WriteMap(target.Settings), ScopeOf(target.Id)),
    };

    private NotificationTarget? FromEntity(TableEntity entity)
    {
        if (!NotificationTypes.TryParse(entity.GetString("Type"), out var type))
        {
            return null;
        }

        var events = NotificationEvents.None;
        foreach (var name in (entity.GetString("Events") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            events |= NotificationTypes.TryParseEvent(name, out var one) ? one : NotificationEvents.None;
        }

        IReadOnlyDictionary<string, string> settings = new Dictionary<string, string>(StringComparer.Ordinal);
        if (entity.GetString(SettingsColumn) is { } stored)
        {
            if (protector.TryUnprotect(stored, ScopeOf(entity.RowKey), out var json, out var error))
            {
                settings = new Dictionary<string, string>(StorageJson.ReadMap(json), StringComparer.Ordinal);
            }
            else
            {
                // The target stays listed; without its settings every send fails until an admin sets them again.
                Log.SettingsUnreadable(logger, entity.RowKey, error);
            }
        }

        return new NotificationTarget
        {
            Id = entity.RowKey,
            Type = type.Type,
            Name = entity.GetString("Name") ?? "",
            Events = events,
            Enabled = entity.GetBoolean("Enabled") ?? true,
            Settings = settings,
            CreatedAt = entity.GetDateTimeOffset("CreatedAt") ?? default,
        };
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4100, Level = LogLevel.Error, Message = "The settings of notification target {TargetId} cannot be decrypted ({Error}); its sends fail until they are set again")]
        public static partial void SettingsUnreadable(ILogger logger, string targetId, SecretError error);
    }
}
