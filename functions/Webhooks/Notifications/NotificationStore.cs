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

    /// <summary>The settings, for key rotation.</summary>
    internal static readonly EncryptedColumns EncryptedColumns = new(Table, [SettingsColumn]);

    /// <summary>How long an instance keeps the list of targets; an admin change reaches other instances within it.</summary>
    public static readonly TimeSpan CacheTtl = TimeSpan.FromSeconds(5);

    private readonly Lock _gate = new();
    private readonly RecordTable<NotificationTarget> _records = new(tables, new RecordShape<NotificationTarget>(
        Table,
        PartitionKey,
        target => ToEntity(target, protector),
        entity => FromEntity(entity, protector, logger),
        target => target.CreatedAt,
        (stored, changed) => changed with { Id = stored.Id, Type = stored.Type, CreatedAt = stored.CreatedAt },
        NotFound));
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

    public Task<NotificationTarget?> GetIfExistsAsync(string id, CancellationToken cancellationToken) =>
        StorageIds.IsWellFormed(IdPrefix, id) ? _records.GetAsync(id, cancellationToken) : Task.FromResult<NotificationTarget?>(null);

    /// <summary>Every target, in creation order; rows of an unknown type are left out.</summary>
    public Task<IReadOnlyList<NotificationTarget>> ListAsync(CancellationToken cancellationToken) => _records.ListAsync(cancellationToken);

    public async Task CreateAsync(NotificationTarget target, CancellationToken cancellationToken)
    {
        await _records.CreateAsync(target, cancellationToken).ConfigureAwait(false);
        Invalidate();
    }

    public async Task<Result<NotificationTarget>> UpdateAsync(string id, Func<NotificationTarget, Result<NotificationTarget>> change, CancellationToken cancellationToken)
    {
        if (!StorageIds.IsWellFormed(IdPrefix, id))
        {
            return NotFound(id);
        }

        var result = await _records.UpdateAsync(id, change, cancellationToken).ConfigureAwait(false);
        Invalidate();
        return result;
    }

    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken)
    {
        if (!StorageIds.IsWellFormed(IdPrefix, id))
        {
            return false;
        }

        try
        {
            return await _records.DeleteAsync(id, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Invalidate();
        }
    }

    internal static string ScopeOf(string id) => SecretProtector.ScopeOf(Table, PartitionKey, id, SettingsColumn);

    private void Invalidate()
    {
        lock (_gate)
        {
            _cached = null;
        }
    }

    private static TableEntity ToEntity(NotificationTarget target, SecretProtector protector) => new(PartitionKey, target.Id)
    {
        ["Type"] = target.Type.WireName(),
        ["Name"] = target.Name,
        ["Events"] = string.Join(',', NotificationTypes.EventNames(target.Events)),
        ["Enabled"] = target.Enabled,
        ["CreatedAt"] = target.CreatedAt,
        [SettingsColumn] = protector.Protect(StorageJson.WriteMap(target.Settings), ScopeOf(target.Id)),
    };

    private static NotificationTarget? FromEntity(TableEntity entity, SecretProtector protector, ILogger logger)
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
