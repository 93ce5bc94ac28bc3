using Microsoft.Extensions.Logging;
using Serverless.Relay.ApiDocs;
using Serverless.Relay.Admin;
using Serverless.Relay.Storage;

namespace Serverless.Webhooks.Notifications;

/// <summary>
/// <c>notifications</c>, <c>notifications/{id}</c> and <c>notifications/{id}/test</c>. The store encrypts every
/// setting; views show the host only. A test goes through the queue exactly as an event does, so it proves the whole
/// path (queue, ImDeliver, the target's API and signature), and it is sent even to a disabled target.
/// </summary>
internal sealed partial class NotificationEndpoints(
    NotificationStore targets,
    NotificationOutbox outbox,
    TimeProvider time,
    ILogger<NotificationEndpoints> logger) : IAdminEndpointGroup
{
    public void Map(AdminRouteGroup group) => group.MapGroup("notifications")
        .MapGet("", ListAsync).Documented(new("Lists notification targets") { Response = ApiSchema.ListOf(NotificationSchemas.Target) })
        .MapPost("", CreateAsync).Documented(new("Adds a notification target (account health and quota events go to it)") { Request = NotificationSchemas.TargetWrite, Status = 201, Response = NotificationSchemas.Target })
        .MapGet("{id}", GetAsync).Documented(new("Reads one notification target") { Response = NotificationSchemas.Target, Errors = [404] })
        .MapPatch("{id}", UpdateAsync).Documented(new("Changes the fields and settings sent") { Request = NotificationSchemas.TargetWrite, Response = NotificationSchemas.Target, Errors = [404, 409] })
        .MapDelete("{id}", DeleteAsync).Documented(new("Deletes a notification target") { Status = 204, Errors = [404] })
        .MapPost("{id}/test", TestAsync).Documented(new("Queues a test notification to the target") { Response = NotificationSchemas.TestQueued, Errors = [404] });

    private async Task<AdminResult> ListAsync(AdminCall call)
    {
        var list = await targets.ListAsync(call.Aborted);
        return AdminResult.List(list, NotificationViews.WriteTarget);
    }

    private async Task<AdminResult> GetAsync(AdminCall call)
    {
        var id = call["id"];
        var target = await targets.GetIfExistsAsync(id, call.Aborted);
        return target is null ? NotificationStore.NotFound(id) : AdminResult.Ok(writer => NotificationViews.WriteTarget(writer, target));
    }

    private async Task<AdminResult> CreateAsync(AdminCall call)
    {
        // :: Step 1: every field, then the settings against the type, all reported at once.
        var errors = new FieldErrors();
        var request = NotificationRequest.Parse(call.Body, errors, creating: true);
        if (request.Type.IsSet)
        {
            NotificationRequest.CheckSettings(request.Type.Value, request.Settings, request.Merge(new Dictionary<string, string>()), errors);
        }

        if (errors.Any)
        {
            return errors.ToError();
        }

        // :: Step 2: store it.
        var target = new NotificationTarget
        {
            Id = StorageIds.New(NotificationStore.IdPrefix),
            Type = request.Type.Value.Type,
            Name = request.Name.Value,
            Events = request.Events.Or(NotificationEvents.All),
            Enabled = request.Enabled.Or(true),
            Settings = request.Merge(new Dictionary<string, string>()),
            CreatedAt = time.GetUtcNow(),
        };
        await targets.CreateAsync(target, call.Aborted);
        Log.Created(logger, target.Id, request.Type.Value.WireName);
        return AdminResult.Created(AdminFunction.PathPrefix + "notifications/" + target.Id, writer => NotificationViews.WriteTarget(writer, target));
    }

    private async Task<AdminResult> UpdateAsync(AdminCall call)
    {
        var id = call["id"];
        var errors = new FieldErrors();
        var request = NotificationRequest.Parse(call.Body, errors, creating: false);
        if (errors.Any)
        {
            return errors.ToError();
        }

        var updated = await targets.UpdateAsync(id, current =>
        {
            var target = request.ApplyTo(current);
            var settingErrors = new FieldErrors();
            NotificationRequest.CheckSettings(NotificationTypes.Of(current.Type), request.Settings, target.Settings, settingErrors);
            return settingErrors.Any ? settingErrors.ToError() : target;
        }, call.Aborted);
        if (!updated.IsSuccess)
        {
            return updated.Error!;
        }

        var result = updated.Value!;
        Log.Updated(logger, id);
        return AdminResult.Ok(writer => NotificationViews.WriteTarget(writer, result));
    }

    private async Task<AdminResult> DeleteAsync(AdminCall call)
    {
        var id = call["id"];
        if (!await targets.DeleteAsync(id, call.Aborted))
        {
            return NotificationStore.NotFound(id);
        }

        Log.Deleted(logger, id);
        return AdminResult.NoContent;
    }

    /// <summary><c>POST notifications/{id}/test</c>: queues a test message; answers with the key it was queued under.</summary>
    private async Task<AdminResult> TestAsync(AdminCall call)
    {
        var id = call["id"];
        if (await targets.GetIfExistsAsync(id, call.Aborted) is not { } target)
        {
            return NotificationStore.NotFound(id);
        }

        var now = time.GetUtcNow();
        var message = new NotificationMessage(
            NotificationTypes.TestEvent,
            "test:" + StorageIds.New("t"),
            $"Test notification from the LLM relay: target '{target.Name}' ({target.Type.WireName()}) is reachable.",
            new Dictionary<string, string>(StringComparer.Ordinal) { ["targetId"] = target.Id, ["targetName"] = target.Name },
            now);
        await outbox.SendAsync(target, message, call.Aborted);
        return AdminResult.Ok(writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("object", "notification_test");
            writer.WriteString("targetId", target.Id);
            writer.WriteString("key", message.Key);
            writer.WriteBoolean("queued", true);
            writer.WriteEndObject();
        });
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4110, Level = LogLevel.Information, Message = "Admin created notification target {TargetId} of type {Type}")]
        public static partial void Created(ILogger logger, string targetId, string type);

        [LoggerMessage(EventId = 4111, Level = LogLevel.Information, Message = "Admin updated notification target {TargetId}")]
        public static partial void Updated(ILogger logger, string targetId);

        [LoggerMessage(EventId = 4112, Level = LogLevel.Information, Message = "Admin deleted notification target {TargetId}")]
        public static partial void Deleted(ILogger logger, string targetId);
    }
}
