using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Serverless.Relay.Accounts;
using Serverless.Relay.Formats;
using Serverless.Relay.Providers;

namespace Serverless.Relay.Admin;

/// <summary>
/// The account-pool part of the admin API: <c>accounts/events</c> (recent marks) and model groups
/// (<c>models</c>, <c>models/{name}</c>). Called by <see cref="AdminFunction"/> after it has authenticated the caller.
/// </summary>
internal sealed class PoolAdmin(AccountEventLog events, ModelGroupStore groups, ModelGroupDirectory groupDirectory, TimeProvider time)
{
    public const string ModelsSegment = "models";
    public const string EventsSegment = "events";

    public Task ListEventsAsync(HttpContext context) =>
        AdminFunction.WriteJsonAsync(context, 200, writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("object", "list");
            writer.WriteStartArray("data");
            foreach (var accountEvent in events.Recent)
            {
                PoolViews.WriteEvent(writer, accountEvent);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        });

    public async Task ListGroupsAsync(HttpContext context, CancellationToken ct)
    {
        var list = await groups.ListAsync(ct);
        await AdminFunction.WriteJsonAsync(context, 200, writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("object", "list");
            writer.WriteStartArray("data");
            foreach (var group in list)
            {
                PoolViews.WriteGroup(writer, group);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        });
    }

    public async Task GetGroupAsync(HttpContext context, string name, CancellationToken ct)
    {
        if (await groups.GetIfExistsAsync(name, ct) is not { } group)
        {
            await AdminFunction.WriteErrorAsync(context, NotFound(name));
            return;
        }

        await AdminFunction.WriteJsonAsync(context, 200, writer => PoolViews.WriteGroup(writer, group));
    }

    /// <summary>Creates or replaces a group (its name is its identity).</summary>
    public async Task PutGroupAsync(HttpContext context, JsonElement body, CancellationToken ct)
    {
        var errors = new FieldErrors();
        var group = ParseGroup(body, errors, time.GetUtcNow());
        if (errors.Any)
        {
            await AdminFunction.WriteErrorAsync(context, errors.ToError());
            return;
        }

        var existing = await groups.GetIfExistsAsync(group!.Name, ct);
        if (existing is not null)
        {
            group = group with { CreatedAt = existing.CreatedAt };
        }

        await groups.UpsertAsync(group, ct);
        groupDirectory.Invalidate();
        context.Response.Headers.Location = "/admin/models/" + Uri.EscapeDataString(group.Name);
        await AdminFunction.WriteJsonAsync(context, existing is null ? 201 : 200, writer => PoolViews.WriteGroup(writer, group));
    }

    public async Task DeleteGroupAsync(HttpContext context, string name, CancellationToken ct)
    {
        if (!await groups.DeleteAsync(name, ct))
        {
            await AdminFunction.WriteErrorAsync(context, NotFound(name));
            return;
        }

        groupDirectory.Invalidate();
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    private static RelayError NotFound(string name) => new(ErrorKind.NotFound, $"no model group is named '{name}'");

    /// <summary>Reads <c>{name, targets: [{account | provider, upstreamModel}], strategy?, fallback?}</c>, reporting every bad field.</summary>
    internal static ModelGroup? ParseGroup(JsonElement body, FieldErrors errors, DateTimeOffset now)
    {
        string? name = null;
        if (body.TryGetProperty("name", out var nameValue) && nameValue.ValueKind == JsonValueKind.String
            && nameValue.GetString()!.Trim() is { Length: > 0 and <= 200 } trimmed && !trimmed.Contains('/', StringComparison.Ordinal))
        {
            name = trimmed;
        }
        else
        {
            errors.Add("name", "name must be a non-empty string of at most 200 characters without '/'");
        }

        var targets = new List<ModelGroupTarget>();
        const string TargetsMessage = "targets must be a non-empty array of {\"account\": id} or {\"provider\": name} objects, each with a non-empty upstreamModel";
        if (body.TryGetProperty("targets", out var targetsValue) && targetsValue.ValueKind == JsonValueKind.Array && targetsValue.GetArrayLength() > 0)
        {
            foreach (var item in targetsValue.EnumerateArray())
            {
                var target = item.ValueKind == JsonValueKind.Object ? ParseTarget(item) : null;
                if (target is null)
                {
                    errors.Add("targets", TargetsMessage);
                    break;
                }

                targets.Add(target);
            }
        }
        else
        {
            errors.Add("targets", TargetsMessage);
        }

        var strategy = ModelGroupStrategy.Priority;
        if (body.TryGetProperty("strategy", out var strategyValue)
            && !(strategyValue.ValueKind == JsonValueKind.String && ModelGroup.TryParseStrategy(strategyValue.GetString(), out strategy)))
        {
            errors.Add("strategy", "strategy must be one of: priority, least-busy, weighted");
        }

        var fallback = new List<string>();
        if (body.TryGetProperty("fallback", out var fallbackValue) && fallbackValue.ValueKind != JsonValueKind.Null)
        {
            if (fallbackValue.ValueKind == JsonValueKind.Array && fallbackValue.EnumerateArray().All(f => f.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(f.GetString())))
            {
                fallback.AddRange(fallbackValue.EnumerateArray().Select(f => f.GetString()!.Trim()));
            }
            else
            {
                errors.Add("fallback", "fallback must be an array of model names");
            }
        }

        return errors.Any ? null : new ModelGroup { Name = name!, Targets = targets, Strategy = strategy, Fallback = fallback, CreatedAt = now };
    }

    private static ModelGroupTarget? ParseTarget(JsonElement item)
    {
        if (!item.TryGetProperty("upstreamModel", out var model) || model.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(model.GetString()))
        {
            return null;
        }

        var upstreamModel = model.GetString()!.Trim();
        var hasAccount = item.TryGetProperty("account", out var account);
        var hasProvider = item.TryGetProperty("provider", out var provider);
        if (hasAccount == hasProvider)
        {
            return null;
        }

        if (hasAccount)
        {
            return account.ValueKind == JsonValueKind.String && Storage.StorageIds.IsWellFormed(AdminFunction.AccountIdPrefix, account.GetString())
                ? new ModelGroupTarget(account.GetString(), null, upstreamModel)
                : null;
        }

        return provider.ValueKind == JsonValueKind.String && ProviderKinds.TryParse(provider.GetString(), out var kind)
            ? new ModelGroupTarget(null, kind, upstreamModel)
            : null;
    }
}
