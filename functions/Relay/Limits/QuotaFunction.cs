using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.OpenAIChat;
using Serverless.Relay.Functions;
using Serverless.Relay.Keys;
using Serverless.Relay.Metering;
using Serverless.Relay.Relaying;

namespace Serverless.Relay.Limits;

/// <summary>
/// The per-user quota API, authenticated by a relay key: <c>GET /api/v1/quota</c> (the caller's own user),
/// <c>GET /api/v1/quota/{userId}</c> and <c>PUT /api/v1/quota/{userId}</c> (admin-role keys only; a user key gets 403).
/// A user is a key's <c>owner</c> (a key without one is its own user). Limits are enforced per key: PUT sets them on
/// every key of the user; GET shows the tightest of them and today's (UTC) use summed over the user's keys.
/// </summary>
internal sealed class QuotaFunction(ClientAuthenticator authenticator, ClientKeyStore keys, ClientKeyAuthenticator keyCache, UsageTotals totals, TimeProvider time) : IHttpFunction
{
    public const string FunctionName = "Quota";

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
        var ct = context.RequestAborted;
        var (caller, error) = await authenticator.AuthenticateAsync(context.Request, ct).ConfigureAwait(false);
        if (caller is null)
        {
            await FailAsync(context, error!).ConfigureAwait(false);
            return;
        }

        var userId = (context.Request.RouteValues["userId"] as string)?.Trim('/') is { Length: > 0 } id ? id : null;
        var isPut = HttpMethods.IsPut(context.Request.Method);
        if ((userId is not null || isPut) && !caller.IsAdmin)
        {
            await FailAsync(context, new RelayError(ErrorKind.PermissionDenied, "Only an admin key may read or set another user's quota.")).ConfigureAwait(false);
            return;
        }

        if (isPut && userId is null)
        {
            await FailAsync(context, RelayError.Invalid("PUT needs the user: /api/v1/quota/{userId}.")).ConfigureAwait(false);
            return;
        }

        userId ??= UserOf(caller);
        var userKeys = (await keys.ListAsync(ct).ConfigureAwait(false)).Where(k => UserOf(k) == userId).ToList();
        if (userKeys.Count == 0)
        {
            await FailAsync(context, new RelayError(ErrorKind.NotFound, $"No key belongs to user '{userId}'.")).ConfigureAwait(false);
            return;
        }

        if (isPut)
        {
            var (patch, invalid) = await ReadPatchAsync(context, ct).ConfigureAwait(false);
            if (patch is null)
            {
                await FailAsync(context, invalid!).ConfigureAwait(false);
                return;
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

        await RelayResults.WriteJsonAsync(context, StatusCodes.Status200OK, writer => Write(writer, userId, userKeys, used)).ConfigureAwait(false);
    }

    private static string UserOf(ClientKey key) => key.Owner ?? key.Id;

    private static Task FailAsync(HttpContext context, RelayError error) => RelayResults.WriteErrorAsync(context, OpenAIChatFormat.Default, error);

    /// <summary>The body's snake_case limits as a key-limits patch; validated by the same rules as the admin API.</summary>
    private static async Task<(KeyLimitsPatch? Patch, RelayError? Error)> ReadPatchAsync(HttpContext context, CancellationToken ct)
    {
        JsonNode? body;
        try
        {
            body = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: ct).ConfigureAwait(false);
        }
        catch (JsonException)
        {
            return (null, RelayError.Invalid("Request body is not valid JSON."));
        }

        var limits = (body as JsonObject)?["limits"] as JsonObject ?? body as JsonObject;
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

        using var document = JsonDocument.Parse(translated.ToJsonString());
        var errors = new List<string>();
        var patch = KeyLimitsPatch.Parse(document.RootElement, errors);
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
        WriteNullable(writer, "limit_input", limitInput);
        WriteNullable(writer, "limit_output", limitOutput);
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
            WriteNullable(writer, name, Tightest(field));
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static void WriteNullable(Utf8JsonWriter writer, string name, long? value)
    {
        if (value is { } v)
        {
            writer.WriteNumber(name, v);
        }
        else
        {
            writer.WriteNull(name);
        }
    }
}
