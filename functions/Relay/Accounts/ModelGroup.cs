using System.Buffers;
using System.Text;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Serverless.Relay.Providers;
using Serverless.Relay.Storage;

namespace Serverless.Relay.Accounts;

/// <summary>How a model group orders its targets.</summary>
internal enum ModelGroupStrategy
{
    /// <summary>Targets in their listed order (then account priority, load, weight).</summary>
    Priority,
    /// <summary>The fewest in-flight requests first, whatever the target.</summary>
    LeastBusy,
    /// <summary>Weighted random by account weight.</summary>
    Weighted,
}

/// <summary>One target of a group: one account, or every account of a provider that serves the upstream model.</summary>
internal sealed record ModelGroupTarget(string? AccountId, ProviderKind? Provider, string UpstreamModel)
{
    public bool Matches(UpstreamAccount account) => AccountId is not null
        ? string.Equals(account.Id, AccountId, StringComparison.Ordinal)
        : account.Provider == Provider && account.Serves(UpstreamModel);
}

/// <summary>A logical model: one client model name spread over accounts and providers, with fallbacks in order.</summary>
internal sealed record ModelGroup
{
    public required string Name { get; init; }
    public required IReadOnlyList<ModelGroupTarget> Targets { get; init; }
    public ModelGroupStrategy Strategy { get; init; }
    /// <summary>Models (or groups) tried, in order, after every target of this group.</summary>
    public IReadOnlyList<string> Fallback { get; init; } = [];
    public DateTimeOffset CreatedAt { get; init; }

    public static string WireName(ModelGroupStrategy strategy) => strategy switch
    {
        ModelGroupStrategy.LeastBusy => "least-busy",
        ModelGroupStrategy.Weighted => "weighted",
        _ => "priority",
    };

    public static bool TryParseStrategy(string? name, out ModelGroupStrategy strategy)
    {
        foreach (var candidate in Enum.GetValues<ModelGroupStrategy>())
        {
            if (string.Equals(WireName(candidate), name, StringComparison.Ordinal))
            {
                strategy = candidate;
                return true;
            }
        }

        strategy = default;
        return false;
    }
}

/// <summary>The model groups, as a snapshot shared by all requests.</summary>
internal interface IModelGroupDirectory
{
    ValueTask<ModelGroup?> FindAsync(string model, CancellationToken cancellationToken);

    /// <summary>From the current snapshot only (no I/O); for fallbacks named inside a plan.</summary>
    ModelGroup? FindCached(string model);
}

/// <summary>
/// The <c>{prefix}modelgroups</c> table: PK <c>group</c>, RK = the name lower-cased; columns Name, Strategy,
/// Targets (JSON <c>[{"account"|"provider", "upstreamModel"}]</c>), Fallback (JSON list), CreatedAt.
/// </summary>
internal sealed class ModelGroupStore(RelayTables tables)
{
    internal const string PartitionKey = "group";

    public static string RowKeyOf(string name) => name.ToLowerInvariant();

    /// <summary>
    /// Whether a name can be a row key: Table storage forbids '/', '\', '#', '?' and control characters in keys
    /// (https://learn.microsoft.com/rest/api/storageservices/understanding-the-table-service-data-model).
    /// </summary>
    public static bool IsStorableName(string name) =>
        name.Length > 0 && !name.AsSpan().ContainsAny(ForbiddenKeyCharacters) && !name.Any(char.IsControl);

    private static readonly System.Buffers.SearchValues<char> ForbiddenKeyCharacters = System.Buffers.SearchValues.Create("/\\#?");

    /// <summary>Creates or replaces a group; a new group keeps nothing, a replaced one keeps its creation time. True when created.</summary>
    public async Task<(ModelGroup Group, bool Created)> PutAsync(ModelGroup group, CancellationToken cancellationToken)
    {
        var existing = await GetIfExistsAsync(group.Name, cancellationToken);
        if (existing is not null)
        {
            group = group with { CreatedAt = existing.CreatedAt };
        }

        await UpsertAsync(group, cancellationToken);
        return (group, existing is null);
    }

    public async Task UpsertAsync(ModelGroup group, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(RelayTables.ModelGroups, cancellationToken);
        await table.UpsertEntityAsync(ToEntity(group), TableUpdateMode.Replace, cancellationToken);
    }

    public async Task<ModelGroup?> GetIfExistsAsync(string name, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(RelayTables.ModelGroups, cancellationToken);
        var response = await table.GetEntityIfExistsAsync<TableEntity>(PartitionKey, RowKeyOf(name), cancellationToken: cancellationToken);
        return response.HasValue ? FromEntity(response.Value!) : null;
    }

    public async Task<IReadOnlyList<ModelGroup>> ListAsync(CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(RelayTables.ModelGroups, cancellationToken);
        var groups = new List<ModelGroup>();
        await foreach (var entity in table.QueryAsync<TableEntity>(TableClient.CreateQueryFilter($"PartitionKey eq {PartitionKey}"), cancellationToken: cancellationToken))
        {
            if (FromEntity(entity) is { } group)
            {
                groups.Add(group);
            }
        }

        return groups;
    }

    public async Task<bool> DeleteAsync(string name, CancellationToken cancellationToken)
    {
        var table = await tables.GetAsync(RelayTables.ModelGroups, cancellationToken);
        return await TableRows.DeleteIfExistsAsync(table, PartitionKey, RowKeyOf(name), cancellationToken);
    }

    private static TableEntity ToEntity(ModelGroup group)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var target in group.Targets)
            {
                writer.WriteStartObject();
                if (target.AccountId is not null)
                {
                    writer.WriteString("account", target.AccountId);
                }
                else
                {
                    writer.WriteString("provider", target.Provider!.Value.WireName());
                }

                writer.WriteString("upstreamModel", target.UpstreamModel);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        return new TableEntity(PartitionKey, RowKeyOf(group.Name))
        {
            ["Name"] = group.Name,
            ["Strategy"] = ModelGroup.WireName(group.Strategy),
            ["Targets"] = Encoding.UTF8.GetString(buffer.WrittenSpan),
            ["Fallback"] = StorageJson.WriteList(group.Fallback),
            ["CreatedAt"] = group.CreatedAt,
        };
    }

    private static ModelGroup? FromEntity(TableEntity entity)
    {
        var targets = new List<ModelGroupTarget>();
        using (var document = JsonDocument.Parse(entity.GetString("Targets") ?? "[]"))
        {
            foreach (var item in document.RootElement.EnumerateArray())
            {
                var upstreamModel = item.GetProperty("upstreamModel").GetString() ?? "";
                if (item.TryGetProperty("account", out var account))
                {
                    targets.Add(new ModelGroupTarget(account.GetString(), null, upstreamModel));
                }
                else if (ProviderKinds.TryParse(item.TryGetProperty("provider", out var p) ? p.GetString() : null, out var provider))
                {
                    targets.Add(new ModelGroupTarget(null, provider, upstreamModel));
                }
            }
        }

        _ = ModelGroup.TryParseStrategy(entity.GetString("Strategy"), out var strategy);
        return new ModelGroup
        {
            Name = entity.GetString("Name") ?? entity.RowKey,
            Strategy = strategy,
            Targets = targets,
            Fallback = StorageJson.ReadList(entity.GetString("Fallback")),
            CreatedAt = entity.GetDateTimeOffset("CreatedAt") ?? default,
        };
    }
}

/// <summary>
/// Every model group in memory, read again at most every 5 s (like <see cref="AccountDirectory"/>, and by the same
/// <see cref="StorageSnapshot{T}"/>: the request path looks a model up here on every request, so a storage outage must
/// cost it neither a wait beyond the hot-path deadline nor a log line).
/// </summary>
internal sealed class ModelGroupDirectory : IModelGroupDirectory
{
    private readonly ModelGroupStore _store;
    private readonly StorageSnapshot<Dictionary<string, ModelGroup>> _snapshot;

    public ModelGroupDirectory(ModelGroupStore store, HotPathStorage hotPath, TimeProvider time, ILogger<ModelGroupDirectory> logger)
    {
        _store = store;
        _snapshot = new StorageSnapshot<Dictionary<string, ModelGroup>>("the model groups", AccountDirectory.Ttl, ReadAsync, hotPath, time, logger);
    }

    public ValueTask<ModelGroup?> FindAsync(string model, CancellationToken cancellationToken)
    {
        var groups = _snapshot.GetAsync(cancellationToken);
        return groups.IsCompletedSuccessfully ? new ValueTask<ModelGroup?>(groups.Result.GetValueOrDefault(model)) : FindLaterAsync(groups, model);
    }

    public ModelGroup? FindCached(string model) => _snapshot.Cached?.GetValueOrDefault(model);

    /// <summary>The next call reads storage again; a read already under way is not reused.</summary>
    public void Invalidate() => _snapshot.Invalidate();

    private static async ValueTask<ModelGroup?> FindLaterAsync(ValueTask<Dictionary<string, ModelGroup>> groups, string model) =>
        (await groups.ConfigureAwait(false)).GetValueOrDefault(model);

    private async Task<Dictionary<string, ModelGroup>> ReadAsync(CancellationToken cancellationToken) =>
        (await _store.ListAsync(cancellationToken).ConfigureAwait(false)).ToDictionary(g => g.Name, StringComparer.OrdinalIgnoreCase);
}
