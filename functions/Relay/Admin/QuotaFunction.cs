using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Serverless.Relay.ApiDocs;
using Serverless.Relay.Formats;
using Serverless.Relay.Functions;
using Serverless.Relay.Keys;
using Serverless.Relay.Limits;
using Serverless.Relay.Metering;
using Serverless.Relay.Relaying;
using Serverless.Relay.Formats.Json;

namespace Serverless.Relay.Admin;

/// <summary>
/// The per-user quota API, authenticated by a relay key: <c>GET /api/v1/quota</c> (the caller's own user),
/// <c>GET /api/v1/quota/{userId}</c> and <c>PUT /api/v1/quota/{userId}</c> (admin-role keys and the operator's
/// <c>RELAY_ADMIN_KEY</c> only; a user key gets 403).
/// A user is a key's <c>owner</c> (a key without one is its own user). Limits are enforced per key: PUT sets them on
/// every key of the user; GET shows the tightest of them and today's (UTC) use summed over the user's keys.
/// </summary>
internal sealed class QuotaFunction(
    AdminKeyFilter adminKey,
    ClientAuthenticator authenticator,
    ClientKeyStore keys,
    ClientKeyAuthenticator keyCache,
    UsageTotals totals,
    TimeProvider time) : IHttpFunction
{
    public const string FunctionName = "Quota";

    /// <summary>This function's routes, for the OpenAPI document.</summary>
    public static readonly IReadOnlyList<ApiRoute> Routes =
    [
        new("GET", "/api/v1/quota", new ApiOperation("The caller's own user: today's use and the limits") { Response = AdminSchemas.UserQuota }, ApiRoute.RelayKey),
        new("GET", "/api/v1/quota/{userId}", new ApiOperation("A user's use and limits (admin-role keys and the admin key)") { Response = AdminSchemas.UserQuota, Errors = [403, 404] }, ApiRoute.RelayKey),
        new("PUT", "/api/v1/quota/{userId}", new ApiOperation("Sets a user's limits on every key of the user (admin-role keys and the admin key)") { Request = AdminSchemas.UserQuotaWrite, Response = AdminSchemas.UserQuota, Errors = [403, 404] }, ApiRoute.RelayKey),
    ];

    /// <summary>The answer's limit names and the key limits they stand for.</summary>
    private static readonly (string Name, string Field)[] Fields =
    [
        ("daily_input_tokens", "dailyInputTokens"),
        ("daily_output_tokens", "dailyOutputTokens"),
        ("daily_requests", "rpd"),
        ("monthly_input_tokens", "monthlyInputTokens"),
        ("monthly_output_tokens", "monthlyOutputTokens"),
    ];

    public string Name => FunctionName;

    public async Task InvokeAsync(HttpContext context)
    {
        var result = await InvokeCoreAsync(context).ConfigureAwait(false);
        await result.ExecuteAsync(context).ConfigureAwait(false);
    }

    private async Task<AdminResult> InvokeCoreAsync(HttpContext context)
    {
        var ct = context.RequestAborted;

        // :: Step 1: the caller: the operator's admin key, else a relay key
        ClientKey? caller = null;
        if (adminKey.Check(context.Request) != AdminKeyCheck.Valid)
        {
            (caller, var error) = await authenticator.AuthenticateAsync(context.Request, ct).ConfigureAwait(false);
            if (caller is null)
            {
                return error!;
            }
        }

        // :: Step 2: whose quota, and may the caller see or set it
        var userId = (context.Request.RouteValues["userId"] as string)?.Trim('/') is { Length: > 0 } id ? id : null;
        var isPut = HttpMethods.IsPut(context.Request.Method);
        if ((userId is not null || isPut) && caller is { IsAdmin: false })
        {
            return new RelayError(ErrorKind.PermissionDenied, "Only an admin key may read or set another user's quota.");
        }

        if (isPut && userId is null)
        {
            return RelayError.Invalid("PUT needs the user: /api/v1/quota/{userId}.");
        }

        if (caller is null && userId is null)
        {
            return RelayError.Invalid("The admin key belongs to no user: ask for /api/v1/quota/{userId}.");
        }

        userId ??= UserOf(caller!);
        var userKeys = (await keys.ListAsync(ct).ConfigureAwait(false)).Where(k => UserOf(k) == userId).ToList();
        if (userKeys.Count == 0)
        {
            return new RelayError(ErrorKind.NotFound, $"No key belongs to user '{userId}'.");
        }

        // :: Step 3: a PUT sets the limits on every key of the user
        if (isPut)
        {
            var (patch, invalid) = await ReadPatchAsync(context, ct).ConfigureAwait(false);
            if (patch is null)
            {
                return invalid!;
            }

            for (var i = 0; i < userKeys.Count; i++)
            {
                var updated = await keys.UpdateAsync(userKeys[i].Id, key => key with { Limits = key.Limits.Merge(patch) }, ct).ConfigureAwait(false);
                if (updated.IsSuccess)
                {
                    userKeys[i] = updated.Value!;
                    keyCache.Invalidate(userKeys[i].Id);
                }
            }
        }

        // :: Step 4: today's use over the user's keys
        var now = time.GetUtcNow().UtcDateTime;
        var today = new DateTimeOffset(now.Year, now.Month, now.Day, 0, 0, 0, TimeSpan.Zero);
        var used = new UsageTotal { Hour = today, KeyId = "" };
        var ids = userKeys.Select(k => k.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var row in await totals.ReadAsync(null, today, today.AddHours(23), ct).ConfigureAwait(false))
        {
            if (ids.Contains(row.KeyId))
            {
                used = used.Plus(row);
            }
        }

        return AdminResult.Ok(writer => Write(writer, userId, userKeys, used));
    }

    private static string UserOf(ClientKey key) => key.Owner ?? key.Id;

    /// <summary>The body's snake_case limits as a key-limits patch; validated by the same rules as the admin API.</summary>
    private static async Task<(KeyLimitsPatch? Patch, RelayError? Error)> ReadPatchAsync(HttpContext context, CancellationToken ct)
    {
        var (document, invalid) = await AdminBody.ReadAsync(context.Request, ct).ConfigureAwait(false);
        if (document is null)
        {
            return (null, invalid);
        }

        JsonObject? limits;
        using (document)
        {
            var root = document.RootElement;
            var source = root.TryGetProperty("limits", out var nested) && nested.ValueKind == JsonValueKind.Object ? nested : root;
            limits = JsonNode.Parse(source.GetRawText()) as JsonObject;
        }

        if (limits is null)
        {
            return (null, RelayError.Invalid("Request body must be an object of limits: " + string.Join(", ", Fields.Select(f => f.Name)) + "."));
        }

        var translated = new JsonObject();
        foreach (var (name, value) in limits)
        {
            var field = Array.Find(Fields, f => f.Name == name).Field;
            if (field is null)
            {
                return (null, RelayError.Invalid($"'{name}' is not a quota limit; known: {string.Join(", ", Fields.Select(f => f.Name))}.", name));
            }

            translated[field] = value?.DeepClone();
        }

        using var patchDocument = JsonDocument.Parse(translated.ToJsonString());
        var errors = new List<string>();
        var patch = KeyLimitsPatch.Parse(patchDocument.RootElement, errors);
        return patch is null ? (null, RelayError.Invalid(string.Join("; ", errors), "limits")) : (patch, null);
    }

    private static void Write(Utf8JsonWriter writer, string userId, List<ClientKey> userKeys, UsageTotal used)
    {
        long? Tightest(string field) => userKeys
            .Select(k => k.Limits.Rules.FirstOrDefault(r => r.FieldName == field)?.Amount)
            .Where(a => a is not null)
            .Min();

        var input = used.InputTokens + used.CacheReadTokens + used.CacheWriteTokens;
        var limitInput = Tightest("dailyInputTokens");
        var limitOutput = Tightest("dailyOutputTokens");
        var limitRequests = Tightest("rpd");
        var shares = new[] { (input, limitInput), (used.OutputTokens, limitOutput), (used.Requests, limitRequests) }
            .Where(s => s.Item2 is > 0)
            .Select(s => 100.0 * s.Item1 / s.Item2!.Value)
            .ToList();

        writer.WriteStartObject();
        writer.WriteString("user_id", userId);
        writer.WriteStartObject("usage");
        writer.WriteString("user_id", userId);
        writer.WriteString("period", "daily");
        writer.WriteNumber("input_tokens", input);
        writer.WriteNumber("output_tokens", used.OutputTokens);
        writer.WriteNumber("total_tokens", input + used.OutputTokens);
        writer.WriteNumber("requests", used.Requests);
        JsonFields.WriteNumberOrNull(writer, "limit_input", limitInput);
        JsonFields.WriteNumberOrNull(writer, "limit_output", limitOutput);
        if (shares.Count == 0)
        {
            writer.WriteNull("percentage_used");
        }
        else
        {
            writer.WriteNumber("percentage_used", Math.Round(shares.Max(), 2));
        }

        writer.WriteEndObject();
        writer.WriteStartObject("limits");
        foreach (var (name, field) in Fields)
        {
            JsonFields.WriteNumberOrNull(writer, name, Tightest(field));
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
    }
}
