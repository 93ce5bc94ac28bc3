using System.Text.Json;
using Serverless.Relay.Audit;
using Serverless.Relay.Formats.Json;
using Serverless.Webhooks.Channels;
using Serverless.Webhooks.Pending;

namespace Serverless.Webhooks.ChannelAdmin;

/// <summary>The JSON the channel routes answer. Never a credential value: only the names of those set.</summary>
internal static class ChannelViews
{
    /// <summary>Where the platform posts: <c>/webhooks/{platform}/{id}</c>, relative to the app's public origin.</summary>
    public static string WebhookUrl(Channel channel) => $"/webhooks/{channel.Platform.WireName()}/{channel.Id}";

    public static void WriteChannel(Utf8JsonWriter writer, Channel channel)
    {
        writer.WriteStartObject();
        writer.WriteString("id", channel.Id);
        writer.WriteString("object", "channel");
        writer.WriteString("platform", channel.Platform.WireName());
        writer.WriteString("name", channel.Name);
        writer.WriteString("model", channel.Model);
        JsonFields.WriteStringOrNull(writer, "systemPrompt", channel.SystemPrompt);
        writer.WriteString("keyId", channel.KeyId);
        writer.WritePropertyName("perUserLimits");
        channel.PerUserLimits.Write(writer);
        writer.WriteString("apiBaseUrl", channel.ApiBaseUrl.AbsoluteUri.TrimEnd('/'));
        writer.WriteBoolean("enabled", channel.Enabled);
        writer.WriteString("audit", channel.Audit.WireName());
        writer.WriteString("webhookUrl", WebhookUrl(channel));
        writer.WriteStartArray("credentials");
        foreach (var name in channel.Credentials.Keys.Order(StringComparer.Ordinal))
        {
            writer.WriteStringValue(name);
        }

        writer.WriteEndArray();
        writer.WriteString("createdAt", channel.CreatedAt);
        writer.WriteEndObject();
    }

    /// <summary>A pending row. NOTE: the reply target is left out: a DingTalk session webhook in it lets anyone post to the chat.</summary>
    public static void WritePending(Utf8JsonWriter writer, PendingMessage row)
    {
        writer.WriteStartObject();
        writer.WriteString("object", "pending_message");
        writer.WriteString("messageKey", row.MessageKey);
        writer.WriteString("conversationId", row.ConversationId);
        writer.WriteString("userId", row.UserId);
        writer.WriteString("state", row.State.WireName());
        JsonFields.WriteStringOrNull(writer, "reason", row.Reason);
        writer.WriteString("receivedAt", row.ReceivedAt);
        writer.WriteString("updatedAt", row.UpdatedAt);
        writer.WriteEndObject();
    }
}
