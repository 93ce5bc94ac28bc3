using Serverless.Relay.ApiDocs;
using static Serverless.Relay.ApiDocs.ApiSchema;

namespace Serverless.Webhooks.Notifications;

/// <summary>The notification targets' admin bodies as the OpenAPI document describes them.</summary>
internal static class NotificationSchemas
{
    private static readonly ApiSchema Type = OneOf([.. NotificationTypes.All.Select(t => t.WireName)]);
    private static readonly ApiSchema Events = ArrayOf(OneOf(NotificationTypes.AccountEvent, NotificationTypes.QuotaEvent));

    public static readonly ApiSchema Target = Object("NotificationTarget",
        Prop("id", String()),
        Prop("object", OneOf("notification_target")),
        Prop("type", Type),
        Prop("name", String()),
        Prop("events", Events),
        Prop("enabled", Boolean()),
        Optional("host", String(), "The host notifications go to; the rest of the settings is secret and never returned."),
        Prop("createdAt", DateTime()));

    public static readonly ApiSchema TargetWrite = new()
    {
        Name = "NotificationTargetWrite",
        Type = "object",
        Description = "type and name, then the type's settings (telegram: botToken, chatId; slack: url; feishu: url, secret; …), stored encrypted.",
        Properties =
        [
            Optional("type", Type, "Required on creation; cannot change."),
            Optional("name", String(), "Required on creation."),
            Optional("events", Events),
            Optional("enabled", Boolean()),
        ],
        Values = String().OrNull(),
    };

    public static readonly ApiSchema TestQueued = Object("NotificationTest",
        Prop("object", OneOf("notification_test")),
        Prop("targetId", String()),
        Prop("key", String()),
        Prop("queued", Boolean()));
}
