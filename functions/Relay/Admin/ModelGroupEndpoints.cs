using System.Text.Json;
using Serverless.Relay.ApiDocs;
using Serverless.Relay.Accounts;
using Serverless.Relay.Formats;
using Serverless.Relay.Providers;

namespace Serverless.Relay.Admin;

/// <summary><c>models</c> and <c>models/{name}</c>: model groups (a name that fans out to several upstream models).</summary>
internal sealed class ModelGroupEndpoints(ModelGroupStore groups, ModelGroupDirectory groupDirectory, TimeProvider time) : IAdminEndpointGroup
{
    public const string NameMessage = "name must be a non-empty string of at most 200 characters without '/', '\\', '#', '?' or control characters";

    public void Map(AdminRouteGroup group) => group.MapGroup("models")
        .MapGet("", ListAsync).Documented(new("Lists model groups (a model name served by several accounts or providers)") { Response = ApiSchema.ListOf(AdminSchemas.ModelGroup) })
        .MapPost("", PutAsync).Documented(new("Creates or replaces a model group by its name") { Request = AdminSchemas.ModelGroupWrite, Response = AdminSchemas.ModelGroup, Description = "201 when created, 200 when replaced." })
        .MapGet("{name}", GetAsync).Documented(new("Reads one model group") { Response = AdminSchemas.ModelGroup, Errors = [404] })
        .MapDelete("{name}", DeleteAsync).Documented(new("Deletes a model group") { Status = 204, Errors = [404] });

    private async Task<AdminResult> ListAsync(AdminCall call) =>
        AdminResult.List(await groups.ListAsync(call.Aborted), PoolViews.WriteGroup);

    private async Task<AdminResult> GetAsync(AdminCall call)
    {
        var name = call["name"];
        // A name storage cannot hold names no group: answer without asking storage (which would refuse the key).
        return ModelGroupStore.IsStorableName(name) && await groups.GetIfExistsAsync(name, call.Aborted) is { } group
            ? AdminResult.Ok(writer => PoolViews.WriteGroup(writer, group))
            : NotFound(name);
    }

    /// <summary>Creates or replaces a group (its name is its identity).</summary>
    private async Task<AdminResult> PutAsync(AdminCall call)
    {
        var errors = new FieldErrors();
        var parsed = ParseGroup(call.Body, errors, time.GetUtcNow());
        if (errors.Any)
        {
            return errors.ToError();
        }

        var (group, created) = await groups.PutAsync(parsed!, call.Aborted);
        groupDirectory.Invalidate();
        return AdminResult.Upserted(created, AdminFunction.PathPrefix + "models/" + Uri.EscapeDataString(group.Name), writer => PoolViews.WriteGroup(writer, group));
    }

    private async Task<AdminResult> DeleteAsync(AdminCall call)
    {
        var name = call["name"];
        if (!ModelGroupStore.IsStorableName(name) || !await groups.DeleteAsync(name, call.Aborted))
        {
            return NotFound(name);
        }

        groupDirectory.Invalidate();
        return AdminResult.NoContent;
    }

    private static RelayError NotFound(string name) => new(ErrorKind.NotFound, $"no model group is named '{name}'");

    /// <summary>Reads <c>{name, targets: [{account | provider, upstreamModel}], strategy?, fallback?}</c>, reporting every bad field.</summary>
    internal static ModelGroup? ParseGroup(JsonElement body, FieldErrors errors, DateTimeOffset now)
    {
        string? name = null;
        if (body.TryGetProperty("name", out var nameValue) && nameValue.ValueKind == JsonValueKind.String
            && nameValue.GetString()!.Trim() is { Length: > 0 and <= 200 } trimmed && ModelGroupStore.IsStorableName(trimmed))
        {
            name = trimmed;
        }
        else
        {
            errors.Add("name", NameMessage);
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
            return account.ValueKind == JsonValueKind.String && Storage.StorageIds.IsWellFormed(AccountEndpoints.IdPrefix, account.GetString())
                ? new ModelGroupTarget(account.GetString(), null, upstreamModel)
                : null;
        }

        return provider.ValueKind == JsonValueKind.String && ProviderKinds.TryParse(provider.GetString(), out var kind)
            ? new ModelGroupTarget(null, kind, upstreamModel)
            : null;
    }
}
