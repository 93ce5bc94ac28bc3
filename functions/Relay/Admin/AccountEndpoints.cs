using System.Text.Json;
using Microsoft.Extensions.Logging;
using Serverless.Relay.ApiDocs;
using Serverless.Relay.Accounts;
using Serverless.Relay.Storage;

namespace Serverless.Relay.Admin;

/// <summary>
/// <c>accounts</c>, <c>accounts/{id}</c> (with this instance's health marks) and <c>accounts/events</c> (recent marks).
/// The store encrypts the secrets; this group validates, calls the store and tells the caches.
/// </summary>
internal sealed partial class AccountEndpoints(
    AccountStore accounts,
    AccountDirectory directory,
    AccountHealth health,
    AccountEventLog events,
    TimeProvider time,
    ILogger<AccountEndpoints> logger) : IAdminEndpointGroup
{
    public const string IdPrefix = "acct";

    public void Map(AdminRouteGroup group) => group.MapGroup("accounts")
        .MapGet("", ListAsync).Documented(new("Lists upstream accounts with their health on this instance") { Response = ApiSchema.ListOf(AdminSchemas.Account) })
        .MapPost("", call => CreateAsync(call.Body, call.Aborted)).Documented(new("Adds an upstream account by API key") { Request = AdminSchemas.AccountWrite, Status = 201, Response = AdminSchemas.Account })
        .MapGet("events", ListEventsAsync).Documented(new("Recent health transitions of the accounts (cool-downs, circuits, recoveries)") { Response = ApiSchema.ListOf(AdminSchemas.AccountEvent) })
        .MapGet("{id}", GetAsync).Documented(new("Reads one account and its health") { Response = AdminSchemas.Account, Errors = [404] })
        .MapPatch("{id}", UpdateAsync).Documented(new("Changes the fields sent (priority, weight, enabled, models, secrets...)") { Request = AdminSchemas.AccountWrite, Response = AdminSchemas.Account, Errors = [404, 409] })
        .MapDelete("{id}", DeleteAsync).Documented(new("Deletes an account") { Status = 204, Errors = [404] });

    private async Task<AdminResult> ListAsync(AdminCall call)
    {
        var rows = await accounts.ListAsync(call.Aborted);
        return AdminResult.List(rows, (writer, row) => AdminViews.WriteAccount(writer, row, health.View(row.Account.Id)));
    }

    private Task<AdminResult> ListEventsAsync(AdminCall call) =>
        Task.FromResult(AdminResult.List(events.Recent.ToArray(), PoolViews.WriteEvent));

    private async Task<AdminResult> GetAsync(AdminCall call)
    {
        var id = call["id"];
        var row = StorageIds.IsWellFormed(IdPrefix, id) ? await accounts.GetIfExistsAsync(id, call.Aborted) : null;
        return row is null
            ? AccountStore.NotFound(id)
            : AdminResult.Ok(writer => AdminViews.WriteAccount(writer, row, health.View(id)));
    }

    /// <summary>Creates an account from a <c>POST accounts</c> body: the admin's, or the one a completed OAuth authorization builds.</summary>
    internal async Task<AdminResult> CreateAsync(JsonElement body, CancellationToken ct)
    {
        var errors = new FieldErrors();
        var request = AccountRequest.Parse(body, errors, creating: true);
        var account = new UpstreamAccount
        {
            Id = StorageIds.New(IdPrefix),
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
            return errors.ToError();
        }

        var oauth = request.OAuth is { } o ? new OAuthCredentials(o.AccessToken, o.RefreshToken, o.ClientSecret, o.ExpiresAt, o.Settings) : null;
        var row = await accounts.CreateAsync(account, request.ApiKey.Or(null), oauth, ct);
        directory.Invalidate();
        Log.AccountCreated(logger, account.Id);
        return AdminResult.Created(AdminFunction.PathPrefix + "accounts/" + account.Id, writer => AdminViews.WriteAccount(writer, row, health.View(account.Id)));
    }

    private async Task<AdminResult> UpdateAsync(AdminCall call)
    {
        var id = call["id"];
        var errors = new FieldErrors();
        var request = AccountRequest.Parse(call.Body, errors, creating: false);
        if (errors.Any)
        {
            return errors.ToError();
        }

        if (!StorageIds.IsWellFormed(IdPrefix, id))
        {
            return AccountStore.NotFound(id);
        }

        var updated = await accounts.UpdateAsync(
            id,
            (row, hasCredential) =>
            {
                var account = request.ApplyTo(row.Account);
                var combined = new FieldErrors();
                AccountRequest.CheckCombination(account, hasCredential, combined);
                return combined.Any ? combined.ToError() : account;
            },
            (request.ApiKey.IsSet, request.ApiKey.Value),
            call.Aborted);
        if (!updated.IsSuccess)
        {
            return updated.Error!;
        }

        directory.Invalidate();
        health.Reset(id); // an admin change (new key, re-enabled) is a fresh start for the account's marks
        Log.AccountUpdated(logger, id);
        return AdminResult.Ok(writer => AdminViews.WriteAccount(writer, updated.Value!, health.View(id)));
    }

    private async Task<AdminResult> DeleteAsync(AdminCall call)
    {
        var id = call["id"];
        if (!StorageIds.IsWellFormed(IdPrefix, id) || !await accounts.DeleteAsync(id, call.Aborted))
        {
            return AccountStore.NotFound(id);
        }

        directory.Invalidate();
        Log.AccountDeleted(logger, id);
        return AdminResult.NoContent;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1401, Level = LogLevel.Information, Message = "Admin created account {AccountId}")]
        public static partial void AccountCreated(ILogger logger, string accountId);

        [LoggerMessage(EventId = 1402, Level = LogLevel.Information, Message = "Admin updated account {AccountId}")]
        public static partial void AccountUpdated(ILogger logger, string accountId);

        [LoggerMessage(EventId = 1403, Level = LogLevel.Information, Message = "Admin deleted account {AccountId}")]
        public static partial void AccountDeleted(ILogger logger, string accountId);
    }
}
