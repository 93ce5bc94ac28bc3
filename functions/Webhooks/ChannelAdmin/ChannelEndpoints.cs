using Microsoft.Extensions.Logging;
using Serverless.Relay.ApiDocs;
using Serverless.Relay.Audit;
using Serverless.Relay.Admin;
using Serverless.Relay.Errors;
using Serverless.Relay.Keys;
using Serverless.Relay.Storage;
using Serverless.Webhooks.Channels;
using Serverless.Webhooks.Pending;
using Serverless.Webhooks.Platforms;

namespace Serverless.Webhooks.ChannelAdmin;

/// <summary>
/// <c>channels</c>, <c>channels/{id}</c> and <c>channels/{id}/pending</c>. The store encrypts the credentials; this
/// group validates, creates the channel's own client key when none is given (owner <c>channel:{id}</c>, the channel's
/// model only) and removes that key, and the platform's access token, with the channel. Its plaintext is never shown: the channel calls the relay in process.
/// </summary>
internal sealed partial class ChannelEndpoints(
    ChannelStore channels,
    PendingMessages pending,
    ClientKeyStore keys,
    ClientKeyAuthenticator authenticator,
    PlatformTokenCache platformTokens,
    TimeProvider time,
    ILogger<ChannelEndpoints> logger) : IAdminEndpointGroup
{
    public const int DefaultPendingPage = 100;
    public const int MaxPendingPage = 1000;

    public void Map(AdminRouteGroup group) => group.MapGroup("channels")
        .MapGet("", ListAsync).Documented(new("Lists IM channels") { Response = ApiSchema.ListOf(ChannelSchemas.Channel) })
        .MapPost("", CreateAsync).Documented(new("Creates an IM channel; the answer has the webhook URL to give the platform") { Request = ChannelSchemas.ChannelWrite, Status = 201, Response = ChannelSchemas.Channel })
        .MapGet("{id}", GetAsync).Documented(new("Reads one channel") { Response = ChannelSchemas.Channel, Errors = [404] })
        .MapPatch("{id}", UpdateAsync).Documented(new("Changes the fields and credentials sent") { Request = ChannelSchemas.ChannelWrite, Response = ChannelSchemas.Channel, Errors = [404, 409] })
        .MapDelete("{id}", DeleteAsync).Documented(new("Deletes a channel (and the key made for it, and its platform access token)") { Status = 204, Errors = [404] })
        .MapGet("{id}/pending", ListPendingAsync).Documented(new("The channel's pending messages, newest first")
        {
            Response = ApiSchema.ListOf(ChannelSchemas.Pending, ApiSchema.Prop("hasMore", ApiSchema.Boolean())),
            Query =
            [
                new("state", ChannelSchemas.PendingState, "Only messages in this state."),
                new("limit", ApiSchema.Integer(), "At most this many."),
            ],
            Errors = [404],
        });

    private async Task<AdminResult> ListAsync(AdminCall call)
    {
        var list = await channels.ListAsync(call.Aborted);
        return AdminResult.List(list, ChannelViews.WriteChannel);
    }

    private async Task<AdminResult> GetAsync(AdminCall call)
    {
        var id = call["id"];
        var channel = StorageIds.IsWellFormed(ChannelStore.IdPrefix, id) ? await channels.GetIfExistsAsync(id, call.Aborted) : null;
        return channel is null ? ChannelStore.NotFound(id) : AdminResult.Ok(writer => ChannelViews.WriteChannel(writer, channel));
    }

    private async Task<AdminResult> CreateAsync(AdminCall call)
    {
        // :: Step 1: every field, then the rules that need the platform or storage, all reported at once.
        var errors = new FieldErrors();
        var request = ChannelRequest.Parse(call.Body, errors, creating: true);
        if (request.Platform.IsSet && request.Credentials.IsSet)
        {
            ChannelRequest.CheckCredentials(request.Platform.Value, request.Credentials.Value, null, errors);
        }

        if (request.KeyId.Or(null) is { } keyId)
        {
            var key = await keys.GetIfExistsAsync(keyId, call.Aborted);
            if (key is null)
            {
                errors.Add("keyId", $"no key has id '{keyId}'");
            }
            else if (request.Model.IsSet && !key.AllowsModel(request.Model.Value))
            {
                errors.Add("keyId", $"key '{keyId}' does not allow model '{request.Model.Value}'");
            }
        }

        if (errors.Any)
        {
            return errors.ToError();
        }

        // :: Step 2: the channel's own key, when none was given.
        var id = StorageIds.New(ChannelStore.IdPrefix);
        var now = time.GetUtcNow();
        var ownKey = request.KeyId.Or(null) is null;
        var chargedKey = request.KeyId.Or(null) ?? await CreateKeyAsync(id, request.Name.Value, request.Model.Value, now, call.Aborted);

        // :: Step 3: the channel; its key goes again if the channel cannot be stored.
        var platform = request.Platform.Value;
        var channel = new Channel
        {
            Id = id,
            Platform = platform.Platform,
            Name = request.Name.Value,
            Model = request.Model.Value,
            SystemPrompt = request.SystemPrompt.Or(null),
            KeyId = chargedKey,
            PerUserLimits = request.PerUserLimits.IsSet ? KeyLimits.None.Merge(request.PerUserLimits.Value) : KeyLimits.None,
            ApiBaseUrl = request.ApiBaseUrl.Or(null) ?? platform.DefaultApiBaseUrl,
            Credentials = request.Credentials.Value.Where(c => c.Value is not null).ToDictionary(c => c.Key, c => c.Value!, StringComparer.Ordinal),
            Enabled = request.Enabled.Or(true),
            Audit = request.Audit.Or(AuditMode.Hashes),
            CreatedAt = now,
        };
        try
        {
            await channels.CreateAsync(channel, call.Aborted);
        }
        catch when (ownKey)
        {
            await keys.DeleteAsync(chargedKey, CancellationToken.None);
            throw;
        }

        Log.ChannelCreated(logger, id, platform.WireName, chargedKey);
        return AdminResult.Created(AdminFunction.PathPrefix + "channels/" + id, writer => ChannelViews.WriteChannel(writer, channel));
    }

    private async Task<AdminResult> UpdateAsync(AdminCall call)
    {
        var id = call["id"];
        var errors = new FieldErrors();
        var request = ChannelRequest.Parse(call.Body, errors, creating: false);
        if (errors.Any)
        {
            return errors.ToError();
        }

        if (!StorageIds.IsWellFormed(ChannelStore.IdPrefix, id))
        {
            return ChannelStore.NotFound(id);
        }

        var updated = await channels.UpdateAsync(id, current =>
        {
            var channel = request.ApplyTo(current);
            if (request.Credentials.IsSet)
            {
                var credentialErrors = new FieldErrors();
                ChannelRequest.CheckCredentials(ChannelPlatforms.Of(current.Platform), request.Credentials.Value, channel.Credentials, credentialErrors);
                if (credentialErrors.Any)
                {
                    return credentialErrors.ToError();
                }
            }

            return channel;
        }, call.Aborted);
        if (!updated.IsSuccess)
        {
            return updated.Error!;
        }

        var result = updated.Value!;
        if (request.Model.IsSet)
        {
            await FollowModelAsync(result, call.Aborted);
        }

        Log.ChannelUpdated(logger, id);
        return AdminResult.Ok(writer => ChannelViews.WriteChannel(writer, result));
    }

    private async Task<AdminResult> DeleteAsync(AdminCall call)
    {
        var id = call["id"];
        var channel = StorageIds.IsWellFormed(ChannelStore.IdPrefix, id) ? await channels.GetIfExistsAsync(id, call.Aborted) : null;
        if (channel is null || !await channels.DeleteAsync(id, call.Aborted))
        {
            return ChannelStore.NotFound(id);
        }

        await platformTokens.ForgetAsync(channel, CancellationToken.None);

        // A key made for the channel has no other user; a key the admin brought stays. Pending rows and turns are left
        // to PurgePending and Retention.
        if (await keys.GetIfExistsAsync(channel.KeyId, call.Aborted) is { } key && key.Owner == ChannelStore.OwnerOf(id))
        {
            await keys.DeleteAsync(key.Id, call.Aborted);
            authenticator.Invalidate(key.Id);
        }

        Log.ChannelDeleted(logger, id);
        return AdminResult.NoContent;
    }

    /// <summary><c>GET channels/{id}/pending?state=&amp;limit=</c>: the newest pending rows first, at most <c>limit</c>, with <c>hasMore</c>.</summary>
    private async Task<AdminResult> ListPendingAsync(AdminCall call)
    {
        var id = call["id"];
        var errors = new FieldErrors();
        PendingState? state = null;
        if (call.Query["state"].ToString() is { Length: > 0 } stateText)
        {
            if (PendingStates.TryParse(stateText, out var parsed))
            {
                state = parsed;
            }
            else
            {
                errors.Add("state", "state must be one of: " + PendingStates.WireNames);
            }
        }

        var limit = AdminFields.QueryLimit(call.Query, DefaultPendingPage, MaxPendingPage, errors);

        if (errors.Any)
        {
            return errors.ToError();
        }

        if (!StorageIds.IsWellFormed(ChannelStore.IdPrefix, id) || await channels.GetIfExistsAsync(id, call.Aborted) is null)
        {
            return ChannelStore.NotFound(id);
        }

        var (rows, hasMore) = await pending.ListAsync(id, state, limit, call.Aborted);
        return AdminResult.Ok(writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("object", "list");
            writer.WriteStartArray("data");
            foreach (var row in rows)
            {
                ChannelViews.WritePending(writer, row);
            }

            writer.WriteEndArray();
            writer.WriteBoolean("hasMore", hasMore);
            writer.WriteEndObject();
        });
    }

    /// <summary>
    /// A key made for the channel through <see cref="ClientKeyStore"/> as <c>POST keys</c> makes one (same id form,
    /// hash and hint); the plaintext is dropped at once: nothing outside this process ever presents it.
    /// </summary>
    private async Task<string> CreateKeyAsync(string channelId, string name, string model, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var (_, hash, hint) = ClientKeySecret.Generate();
        var key = new ClientKey
        {
            Id = StorageIds.New(KeyEndpoints.IdPrefix),
            Name = name,
            Owner = ChannelStore.OwnerOf(channelId),
            Models = [model],
            CreatedAt = now,
            Hint = hint,
        };
        await keys.CreateAsync(key, hash, cancellationToken);
        return key.Id;
    }

    /// <summary>The channel's own key follows its model, so the key never refuses what the channel asks for.</summary>
    private async Task FollowModelAsync(Channel channel, CancellationToken cancellationToken)
    {
        var owner = ChannelStore.OwnerOf(channel.Id);
        var changed = await keys.UpdateAsync(
            channel.KeyId,
            key => key.Owner == owner ? key with { Models = [channel.Model] } : key,
            cancellationToken);
        if (changed.IsSuccess)
        {
            authenticator.Invalidate(channel.KeyId);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4010, Level = LogLevel.Information, Message = "Admin created channel {ChannelId} on {Platform}, charged to key {KeyId}")]
        public static partial void ChannelCreated(ILogger logger, string channelId, string platform, string keyId);

        [LoggerMessage(EventId = 4011, Level = LogLevel.Information, Message = "Admin updated channel {ChannelId}")]
        public static partial void ChannelUpdated(ILogger logger, string channelId);

        [LoggerMessage(EventId = 4012, Level = LogLevel.Information, Message = "Admin deleted channel {ChannelId}")]
        public static partial void ChannelDeleted(ILogger logger, string channelId);
    }
}
