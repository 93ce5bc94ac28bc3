using System.Text.Json;

namespace Serverless.Webhooks.Notifications;

/// <summary>
/// The JSON the notification routes answer. Never a setting: URLs hold access tokens (Slack, DingTalk, WeCom, Feishu
/// put them in the path or query), so a target shows only the host it sends to.
/// </summary>
internal static class NotificationViews
{
    public static void WriteTarget(Utf8JsonWriter writer, NotificationTarget target)
    {
        writer.WriteStartObject();
        writer.WriteString("id", target.Id);
        writer.WriteString("object", "notification_target");
        writer.WriteString("type", target.Type.WireName());
        writer.WriteString("name", target.Name);
        writer.WriteStartArray("events");
        foreach (var name in NotificationTypes.EventNames(target.Events))
        {
            writer.WriteStringValue(name);
        }

        writer.WriteEndArray();
        writer.WriteBoolean("enabled", target.Enabled);
        if (target.Endpoint is { } endpoint)
        {
            writer.WriteString("host", endpoint.Host);
        }
        else
        {
            writer.WriteNull("host");
        }

        writer.WriteString("createdAt", target.CreatedAt);
        writer.WriteEndObject();
    }
}
