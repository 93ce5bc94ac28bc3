using Microsoft.Extensions.Logging;
using Serverless.Relay.ApiDocs;
using Serverless.Relay.Audit;
using Serverless.Relay.Keys;
using Serverless.Relay.Limits;
using Serverless.Relay.Storage;

namespace Serverless.Relay.Admin;

/// <summary><c>keys</c> and <c>keys/{id}</c>: relay keys. The secret is shown once, in the answer to its creation.</summary>
internal sealed partial class KeyEndpoints(ClientKeyStore keys, ClientKeyAuthenticator authenticator, TimeProvider time, ILogger<KeyEndpoints> logger) : IAdminEndpointGroup
{
    public const string IdPrefix = "key";

    public void Map(AdminRouteGroup group) => group.MapGroup("keys")
        .MapGet("", ListAsync).Documented(new("Lists the relay's client keys") { Response = ApiSchema.ListOf(AdminSchemas.Key) })
        .MapPost("", CreateAsync).Documented(new("Creates a client key; the answer holds its plaintext, once") { Request = AdminSchemas.KeyWrite, Status = 201, Response = AdminSchemas.CreatedKey })
        .MapGet("{id}", GetAsync).Documented(new("Reads one key") { Response = AdminSchemas.Key, Errors = [404] })
        .MapPatch("{id}", UpdateAsync).Documented(new("Changes the fields sent (limits merge per field)") { Request = AdminSchemas.KeyWrite, Response = AdminSchemas.Key, Errors = [404, 409] })
        .MapDelete("{id}", DeleteAsync).Documented(new("Deletes a key; it is refused everywhere within 5 s") { Status = 204, Errors = [404] });

    private async Task<AdminResult> ListAsync(AdminCall call)
    {
        var list = await keys.ListAsync(call.Aborted);
        return AdminResult.List(list, (writer, key) => AdminViews.WriteKey(writer, key));
    }

    private async Task<AdminResult> GetAsync(AdminCall call)
    {
        var id = call["id"];
        var key = StorageIds.IsWellFormed(IdPrefix, id) ? await keys.GetIfExistsAsync(id, call.Aborted) : null;
        return key is null ? ClientKeyStore.NotFound(id) : AdminResult.Ok(writer => AdminViews.WriteKey(writer, key));
    }

    private async Task<AdminResult> CreateAsync(AdminCall call)
    {
        var now = time.GetUtcNow();
        var errors = new FieldErrors();
        var request = KeyRequest.Parse(call.Body, errors, creating: true, now);
        if (errors.Any)
        {
            return errors.ToError();
        }

        var (plaintext, hash, hint) = ClientKeySecret.Generate();
        var key = new ClientKey
        {
            Id = StorageIds.New(IdPrefix),
            Name = request.Name.Value,
            Owner = request.Owner.Or(null),
            Models = request.Models.Or([]),
            ExpiresAt = request.ExpiresAt.Or(null),
            Limits = request.Limits.IsSet ? KeyLimits.None.Merge(request.Limits.Value) : KeyLimits.None,
            Role = request.Role.Or(ClientKey.UserRole),
            Audit = request.Audit.Or(AuditMode.Hashes),
            Enabled = request.Enabled.Or(true),
            CreatedAt = now,
            Hint = hint,
        };
        await keys.CreateAsync(key, hash, call.Aborted);
        Log.KeyCreated(logger, key.Id);
        return AdminResult.Created(AdminFunction.PathPrefix + "keys/" + key.Id, writer => AdminViews.WriteKey(writer, key, plaintext));
    }

    private async Task<AdminResult> UpdateAsync(AdminCall call)
    {
        var id = call["id"];
        var errors = new FieldErrors();
        var request = KeyRequest.Parse(call.Body, errors, creating: false, time.GetUtcNow());
        if (errors.Any)
        {
            return errors.ToError();
        }

        if (!StorageIds.IsWellFormed(IdPrefix, id))
        {
            return ClientKeyStore.NotFound(id);
        }

        var updated = await keys.UpdateAsync(id, key => request.ApplyTo(key), call.Aborted);
        if (!updated.IsSuccess)
        {
            return updated.Error!;
        }

        authenticator.Invalidate(id);
        Log.KeyUpdated(logger, id);
        return AdminResult.Ok(writer => AdminViews.WriteKey(writer, updated.Value!));
    }

    private async Task<AdminResult> DeleteAsync(AdminCall call)
    {
        var id = call["id"];
        if (!StorageIds.IsWellFormed(IdPrefix, id) || !await keys.DeleteAsync(id, call.Aborted))
        {
            return ClientKeyStore.NotFound(id);
        }

        authenticator.Invalidate(id);
        Log.KeyDeleted(logger, id);
        return AdminResult.NoContent;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1404, Level = LogLevel.Information, Message = "Admin created key {KeyId}")]
        public static partial void KeyCreated(ILogger logger, string keyId);

        [LoggerMessage(EventId = 1405, Level = LogLevel.Information, Message = "Admin updated key {KeyId}")]
        public static partial void KeyUpdated(ILogger logger, string keyId);

        [LoggerMessage(EventId = 1406, Level = LogLevel.Information, Message = "Admin deleted key {KeyId}")]
        public static partial void KeyDeleted(ILogger logger, string keyId);
    }
}
