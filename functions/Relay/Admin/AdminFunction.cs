using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Azure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Serverless.Relay.Accounts;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.OpenAIChat;
using Serverless.Relay.Functions;
using Serverless.Relay.Keys;
using Serverless.Relay.OAuth;
using Serverless.Relay.Limits;
using Serverless.Relay.Metering;
using Serverless.Relay.Pricing;
using Serverless.Relay.Storage;

namespace Serverless.Relay.Admin;

/// <summary>
/// The admin API, function route <c>admin/{*path}</c>: CRUD for upstream accounts (<c>accounts</c>,
/// <c>accounts/{id}</c>, with this instance's health marks; <c>accounts/events</c>), model groups (<c>models</c>,
/// <c>models/{name}</c>, see <see cref="PoolAdmin"/>), relay keys (<c>keys</c>, <c>keys/{id}</c>) and adding OAuth
/// accounts by authorization code with PKCE (<c>oauth/authorize</c>, <c>oauth/complete</c>, see <see cref="PkceAuthorizations"/>). Authenticated by <c>RELAY_ADMIN_KEY</c>;
/// errors in OpenAI's shape.
/// </summary>
internal sealed partial class AdminFunction(
    IOptions<AdminOptions> options,
    AccountStore accounts,
    AccountDirectory directory,
    ClientKeyStore keys,
    ClientKeyAuthenticator authenticator,
    AccountHealth health,
    PoolAdmin pool,
    PkceAuthorizations pkce,
    PriceBook prices,
    QuotaReader quotas,
    UsageTotals usageTotals,
    TimeProvider time,
    ILogger<AdminFunction> logger) : IHttpFunction
{
    public const string FunctionName = "Admin";
    private const string AccountsSegment = "accounts";
    private const string KeysSegment = "keys";
    private const string OAuthSegment = "oauth";

    // Hashing both sides gives equal-length inputs, so the comparison's time says nothing about the key's length either.
    private readonly byte[]? _adminKeyHash = string.IsNullOrEmpty(options.Value.AdminKey) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(options.Value.AdminKey));

    public string Name => FunctionName;

    public async Task InvokeAsync(HttpContext context)
    {
        var ct = context.RequestAborted;
        if (_adminKeyHash is null)
        {
            await WriteErrorAsync(context, new RelayError(ErrorKind.Unavailable, $"the admin API is disabled: set {AdminOptions.AdminKeySetting} to enable it"));
            return;
        }

        if (!IsAuthorized(context.Request))
        {
            Log.Unauthorized(logger, context.Connection.RemoteIpAddress?.ToString());
            await WriteErrorAsync(context, new RelayError(ErrorKind.Authentication, "missing or invalid admin key: send it as 'Authorization: Bearer <key>' or 'x-api-key'"));
            return;
        }

        var path = (context.Request.RouteValues["path"] as string ?? "").Trim('/');
        var segments = path.Split('/');
        var method = context.Request.Method;
        try
        {
            switch (segments)
            {
                case [AccountsSegment]:
                    await (method switch
                    {
                        "GET" => ListAccountsAsync(context, ct),
                        "POST" => CreateAccountAsync(context, ct),
                        _ => MethodNotAllowedAsync(context, path, "GET, POST"),
                    });
                    break;
                case [AccountsSegment, PoolAdmin.EventsSegment] when method == "GET":
                    await pool.ListEventsAsync(context);
                    break;
                case [PoolAdmin.ModelsSegment]:
                    await (method switch
                    {
                        "GET" => pool.ListGroupsAsync(context, ct),
                        "POST" => PutGroupAsync(context, ct),
                        _ => MethodNotAllowedAsync(context, path, "GET, POST"),
                    });
                    break;
                case [PoolAdmin.ModelsSegment, var group]:
                    await (method switch
                    {
                        "GET" => pool.GetGroupAsync(context, group, ct),
                        "DELETE" => pool.DeleteGroupAsync(context, group, ct),
                        _ => MethodNotAllowedAsync(context, path, "GET, DELETE"),
                    });
                    break;
                case [AccountsSegment, var id]:
                    await (method switch
                    {
                        "GET" => GetAccountAsync(context, id, ct),
                        "PATCH" => UpdateAccountAsync(context, id, ct),
                        "DELETE" => DeleteAccountAsync(context, id, ct),
                        _ => MethodNotAllowedAsync(context, path, "GET, PATCH, DELETE"),
                    });
                    break;
                case [OAuthSegment, "authorize"]:
                    await (method == "POST" ? AuthorizeOAuthAsync(context, ct) : MethodNotAllowedAsync(context, path, "POST"));
                    break;
                case [OAuthSegment, "complete"]:
                    await (method == "POST" ? CompleteOAuthAsync(context, ct) : MethodNotAllowedAsync(context, path, "POST"));
                    break;
                case [KeysSegment]:
                    await (method switch
                    {
                        "GET" => ListKeysAsync(context, ct),
                        "POST" => CreateKeyAsync(context, ct),
                        _ => MethodNotAllowedAsync(context, path, "GET, POST"),
                    });
                    break;
                case [KeysSegment, var id]:
                    await (method switch
                    {
                        "GET" => GetKeyAsync(context, id, ct),
                        "PATCH" => UpdateKeyAsync(context, id, ct),
                        "DELETE" => DeleteKeyAsync(context, id, ct),
                        _ => MethodNotAllowedAsync(context, path, "GET, PATCH, DELETE"),
                    });
                    break;
                case [KeysSegment, var id, QuotaSegment]:
                    await GetQuotaAsync(context, path, id, ct);
                    break;
                case [PricingSegment]:
                    await PricingAsync(context, path, ct);
                    break;
                case [UsageSegment]:
                    await GetUsageAsync(context, path, ct);
                    break;
                default:
                    await WriteErrorAsync(context, new RelayError(ErrorKind.NotFound, $"no admin endpoint at /admin/{path}"));
                    break;
            }
        }
        catch (RequestFailedException e) when (!context.Response.HasStarted)
        {
            Log.StorageFailed(logger, e.Status, e.ErrorCode, e);
            await WriteErrorAsync(context, new RelayError(ErrorKind.Unavailable, "storage is unavailable; try again"));
        }
    }

    private bool IsAuthorized(HttpRequest request)
    {
        string? presented = null;
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            presented = authorization["Bearer ".Length..].Trim();
        }
        else if (request.Headers.TryGetValue("x-api-key", out var apiKey))
        {
            presented = apiKey.ToString().Trim();
        }

        if (string.IsNullOrEmpty(presented))
        {
            return false;
        }

        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(presented), hash);
        return CryptographicOperations.FixedTimeEquals(hash, _adminKeyHash);
    }

    // ----- accounts -----

    private async Task ListAccountsAsync(HttpContext context, CancellationToken ct)
    {
        var rows = await accounts.ListAsync(ct);
        await WriteJsonAsync(context, 200, writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("object", "list");
            writer.WriteStartArray("data");
            foreach (var row in rows)
            {
                AdminViews.WriteAccount(writer, row, health.View(row.Account.Id));
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        });
    }

    private async Task GetAccountAsync(HttpContext context, string id, CancellationToken ct)
    {
        var row = StorageIds.IsWellFormed(AccountIdPrefix, id) ? await accounts.GetIfExistsAsync(id, ct) : null;
        if (row is null)
        {
            await WriteErrorAsync(context, AccountStore.NotFound(id));
            return;
        }

        await WriteJsonAsync(context, 200, writer => AdminViews.WriteAccount(writer, row, health.View(id)));
    }

    private async Task PutGroupAsync(HttpContext context, CancellationToken ct)
    {
        using var body = await ReadBodyAsync(context, ct);
        if (body is not null)
        {
            await pool.PutGroupAsync(context, body.RootElement, ct);
        }
    }

    private async Task CreateAccountAsync(HttpContext context, CancellationToken ct)
    {
        using var body = await ReadBodyAsync(context, ct);
        if (body is null)
        {
            return;
        }

        await CreateAccountAsync(context, body.RootElement, ct);
    }

    /// <summary>Creates an account from a <c>POST /admin/accounts</c> body: the admin's, or the one a completed OAuth authorization builds.</summary>
    private async Task CreateAccountAsync(HttpContext context, JsonElement body, CancellationToken ct)
    {
        var errors = new FieldErrors();
        var request = AccountRequest.Parse(body, errors, creating: true);
        var id = StorageIds.New(AccountIdPrefix);
        var account = new UpstreamAccount
        {
            Id = id,
            Name = request.Name.Or(""),
            Provider = request.Provider.Value,
            BaseUrl = request.BaseUrl.Or(null),
            ApiVersion = request.ApiVersion.Or(null),
            Models = request.Models.Or([]),
            ModelMap = request.ModelMap.Or(new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)),
            Priority = request.Priority.Or(0),
            Enabled = request.Enabled.Or(true),
            Weight = request.Weight.Or(1),
            MaxConcurrency = request.MaxConcurrency.Or(null),
            CreatedAt = time.GetUtcNow(),
        };
        if (request.Provider.IsSet)
        {
            AccountRequest.CheckCombination(account, request.ApiKey.Or(null) is not null || request.OAuth is not null, errors);
        }

        if (errors.Any)
        {
            await WriteErrorAsync(context, errors.ToError());
            return;
        }

        var apiKey = request.ApiKey.Or(null);
        OAuthSecrets? oauthSecrets = null;
        if (request.OAuth is { } oauth)
        {
            account = account with { OAuth = oauth.Settings };
            oauthSecrets = new OAuthSecrets(
                accounts.Protect(id, AccountStore.AccessTokenColumn, oauth.AccessToken),
                accounts.Protect(id, AccountStore.RefreshTokenColumn, oauth.RefreshToken),
                oauth.ClientSecret is null ? null : accounts.Protect(id, AccountStore.ClientSecretColumn, oauth.ClientSecret),
                oauth.ExpiresAt);
        }

        var row = new AccountRow(account, apiKey is null ? null : accounts.ProtectApiKey(id, apiKey), oauthSecrets);
        await accounts.CreateAsync(row, ct);
        directory.Invalidate();
        Log.AccountCreated(logger, id);
        context.Response.Headers.Location = "/admin/accounts/" + id;
        await WriteJsonAsync(context, 201, writer => AdminViews.WriteAccount(writer, row, health.View(id)));
    }

    // ----- OAuth authorization (PKCE) -----

    private async Task AuthorizeOAuthAsync(HttpContext context, CancellationToken ct)
    {
        using var body = await ReadBodyAsync(context, ct);
        if (body is null)
        {
            return;
        }

        var errors = new FieldErrors();
        if (AuthorizationRequest.Parse(body.RootElement, errors) is not { } request)
        {
            await WriteErrorAsync(context, errors.ToError());
            return;
        }

        var started = await pkce.StartAsync(request, ct);
        await WriteJsonAsync(context, 200, writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("object", "oauth.authorization");
            writer.WriteString("state", started.State);
            writer.WriteString("authorizationUrl", started.AuthorizationUrl);
            writer.WriteString("expiresAt", started.ExpiresAt);
            writer.WriteEndObject();
        });
    }

    private async Task CompleteOAuthAsync(HttpContext context, CancellationToken ct)
    {
        using var body = await ReadBodyAsync(context, ct);
        if (body is null)
        {
            return;
        }

        var completed = await pkce.CompleteAsync(body.RootElement, ct);
        if (!completed.IsSuccess)
        {
            await WriteErrorAsync(context, completed.Error!);
            return;
        }

        using var account = completed.Value!;
        await CreateAccountAsync(context, account.RootElement, ct);
    }

    private async Task UpdateAccountAsync(HttpContext context, string id, CancellationToken ct)
    {
        using var body = await ReadBodyAsync(context, ct);
        if (body is null)
        {
            return;
        }

        var errors = new FieldErrors();
        var request = AccountRequest.Parse(body.RootElement, errors, creating: false);
        if (errors.Any)
        {
            await WriteErrorAsync(context, errors.ToError());
            return;
        }

        if (!StorageIds.IsWellFormed(AccountIdPrefix, id))
        {
            await WriteErrorAsync(context, AccountStore.NotFound(id));
            return;
        }

        var updated = await accounts.UpdateAsync(id, row =>
        {
            var account = request.ApplyTo(row.Account);
            var combined = new FieldErrors();
            var hasApiKey = (request.ApiKey.IsSet ? request.ApiKey.Value is not null : row.ProtectedApiKey is not null) || row.OAuth is not null;
            AccountRequest.CheckCombination(account, hasApiKey, combined);
            if (combined.Any)
            {
                return combined.ToError();
            }

            var protectedKey = request.ApiKey switch
            {
                { IsSet: false } => row.ProtectedApiKey,
                { Value: null } => null,
                { Value: var plaintext } => accounts.ProtectApiKey(id, plaintext),
            };
            return new AccountRow(account, protectedKey, row.OAuth);
        }, ct);

        if (!updated.IsSuccess)
        {
            await WriteErrorAsync(context, updated.Error!);
            return;
        }

        directory.Invalidate();
        health.Reset(id); // an admin change (new key, re-enabled) is a fresh start for the account's marks
        Log.AccountUpdated(logger, id);
        await WriteJsonAsync(context, 200, writer => AdminViews.WriteAccount(writer, updated.Value!, health.View(id)));
    }

    private async Task DeleteAccountAsync(HttpContext context, string id, CancellationToken ct)
    {
        if (!StorageIds.IsWellFormed(AccountIdPrefix, id) || !await accounts.DeleteAsync(id, ct))
        {
            await WriteErrorAsync(context, AccountStore.NotFound(id));
            return;
        }

        directory.Invalidate();
        Log.AccountDeleted(logger, id);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    // ----- keys -----

    private async Task ListKeysAsync(HttpContext context, CancellationToken ct)
    {
        var list = await keys.ListAsync(ct);
        await WriteJsonAsync(context, 200, writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("object", "list");
            writer.WriteStartArray("data");
            foreach (var key in list)
            {
                AdminViews.WriteKey(writer, key);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        });
    }

    private async Task GetKeyAsync(HttpContext context, string id, CancellationToken ct)
    {
        var key = StorageIds.IsWellFormed(KeyIdPrefix, id) ? await keys.GetIfExistsAsync(id, ct) : null;
        if (key is null)
        {
            await WriteErrorAsync(context, ClientKeyStore.NotFound(id));
            return;
        }

        await WriteJsonAsync(context, 200, writer => AdminViews.WriteKey(writer, key));
    }

    private async Task CreateKeyAsync(HttpContext context, CancellationToken ct)
    {
        using var body = await ReadBodyAsync(context, ct);
        if (body is null)
        {
            return;
        }

        var now = time.GetUtcNow();
        var errors = new FieldErrors();
        var request = KeyRequest.Parse(body.RootElement, errors, creating: true, now);
        if (errors.Any)
        {
            await WriteErrorAsync(context, errors.ToError());
            return;
        }

        var (plaintext, hash, hint) = ClientKeySecret.Generate();
        var key = new ClientKey
        {
            Id = StorageIds.New(KeyIdPrefix),
            Name = request.Name.Value,
            Owner = request.Owner.Or(null),
            Models = request.Models.Or([]),
            ExpiresAt = request.ExpiresAt.Or(null),
            Limits = request.Limits.IsSet ? KeyLimits.None.Merge(request.Limits.Value) : KeyLimits.None,
            Role = request.Role.Or(ClientKey.UserRole),
            Enabled = request.Enabled.Or(true),
            CreatedAt = now,
            Hint = hint,
        };
        await keys.CreateAsync(key, hash, ct);
        Log.KeyCreated(logger, key.Id);
        context.Response.Headers.Location = "/admin/keys/" + key.Id;
        await WriteJsonAsync(context, 201, writer => AdminViews.WriteKey(writer, key, plaintext));
    }

    private async Task UpdateKeyAsync(HttpContext context, string id, CancellationToken ct)
    {
        using var body = await ReadBodyAsync(context, ct);
        if (body is null)
        {
            return;
        }

        var errors = new FieldErrors();
        var request = KeyRequest.Parse(body.RootElement, errors, creating: false, time.GetUtcNow());
        if (errors.Any)
        {
            await WriteErrorAsync(context, errors.ToError());
            return;
        }

        if (!StorageIds.IsWellFormed(KeyIdPrefix, id))
        {
            await WriteErrorAsync(context, ClientKeyStore.NotFound(id));
            return;
        }

        var updated = await keys.UpdateAsync(id, key => request.ApplyTo(key), ct);
        if (!updated.IsSuccess)
        {
            await WriteErrorAsync(context, updated.Error!);
            return;
        }

        authenticator.Invalidate(id);
        Log.KeyUpdated(logger, id);
        await WriteJsonAsync(context, 200, writer => AdminViews.WriteKey(writer, updated.Value!));
    }

    private async Task DeleteKeyAsync(HttpContext context, string id, CancellationToken ct)
    {
        if (!StorageIds.IsWellFormed(KeyIdPrefix, id) || !await keys.DeleteAsync(id, ct))
        {
            await WriteErrorAsync(context, ClientKeyStore.NotFound(id));
            return;
        }

        authenticator.Invalidate(id);
        Log.KeyDeleted(logger, id);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    // ----- plumbing -----

    internal const string AccountIdPrefix = "acct";
    internal const string KeyIdPrefix = "key";

    /// <summary>The body as a JSON object, or null after answering 400.</summary>
    private static async Task<JsonDocument?> ReadBodyAsync(HttpContext context, CancellationToken ct)
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(context.Request.Body, default, ct);
        }
        catch (JsonException)
        {
            await WriteErrorAsync(context, RelayError.Invalid("request body is not valid JSON"));
            return null;
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            await WriteErrorAsync(context, RelayError.Invalid("request body must be a JSON object"));
            return null;
        }

        return document;
    }

    private static Task MethodNotAllowedAsync(HttpContext context, string path, string allow)
    {
        context.Response.Headers.Allow = allow;
        return WriteJsonAsync(
            context,
            StatusCodes.Status405MethodNotAllowed,
            writer => OpenAIErrors.Write(RelayError.Invalid($"{context.Request.Method} is not allowed on /admin/{path}; allowed: {allow}"), writer));
    }

    internal static Task WriteErrorAsync(HttpContext context, RelayError error) =>
        WriteJsonAsync(context, OpenAIErrors.StatusCodeOf(error), writer => OpenAIErrors.Write(error, writer));

    internal static async Task WriteJsonAsync(HttpContext context, int status, Action<Utf8JsonWriter> write)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        using (var writer = new Utf8JsonWriter(context.Response.BodyWriter))
        {
            write(writer);
        }

        await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1400, Level = LogLevel.Warning, Message = "Admin request refused: missing or wrong admin key (from {RemoteAddress})")]
        public static partial void Unauthorized(ILogger logger, string? remoteAddress);

        [LoggerMessage(EventId = 1401, Level = LogLevel.Information, Message = "Admin created account {AccountId}")]
        public static partial void AccountCreated(ILogger logger, string accountId);

        [LoggerMessage(EventId = 1402, Level = LogLevel.Information, Message = "Admin updated account {AccountId}")]
        public static partial void AccountUpdated(ILogger logger, string accountId);

        [LoggerMessage(EventId = 1403, Level = LogLevel.Information, Message = "Admin deleted account {AccountId}")]
        public static partial void AccountDeleted(ILogger logger, string accountId);

        [LoggerMessage(EventId = 1404, Level = LogLevel.Information, Message = "Admin created key {KeyId}")]
        public static partial void KeyCreated(ILogger logger, string keyId);

        [LoggerMessage(EventId = 1405, Level = LogLevel.Information, Message = "Admin updated key {KeyId}")]
        public static partial void KeyUpdated(ILogger logger, string keyId);

        [LoggerMessage(EventId = 1406, Level = LogLevel.Information, Message = "Admin deleted key {KeyId}")]
        public static partial void KeyDeleted(ILogger logger, string keyId);

        [LoggerMessage(EventId = 1407, Level = LogLevel.Error, Message = "Admin request failed in storage ({Status} {ErrorCode})")]
        public static partial void StorageFailed(ILogger logger, int status, string? errorCode, Exception exception);

        [LoggerMessage(EventId = 1408, Level = LogLevel.Information, Message = "Admin set the price table ({Count} prices)")]
        public static partial void PricingChanged(ILogger logger, int count);
    }
}
