using Serverless.Relay.Admin;
using Serverless.Relay.ApiDocs;
using Serverless.Webhooks.Channels;
using Serverless.Webhooks.Pending;
using static Serverless.Relay.ApiDocs.ApiSchema;

namespace Serverless.Webhooks.ChannelAdmin;

/// <summary>The channels' admin bodies as the OpenAPI document describes them.</summary>
internal static class ChannelSchemas
{
    private static readonly ApiSchema Platform = OneOf([.. ChannelPlatforms.All.Select(p => p.WireName)]);
    private static readonly ApiSchema Audit = AdminSchemas.AuditMode;

    /// <summary>A pending message's state (and the <c>state</c> filter of its listing).</summary>
    public static readonly ApiSchema PendingState = OneOf([.. Enum.GetValues<Pending.PendingState>().Select(s => s.WireName())]);

    public static readonly ApiSchema Channel = Object("Channel",
        Prop("id", String()),
        Prop("object", OneOf("channel")),
        Prop("platform", Platform),
        Prop("name", String()),
        Prop("model", String()),
        Prop("systemPrompt", String().OrNull()),
        Prop("keyId", String(), "The client key the channel's LLM calls are charged to."),
        Prop("perUserLimits", AdminSchemas.Limits),
        Prop("apiBaseUrl", String("uri")),
        Prop("enabled", Boolean()),
        Prop("audit", Audit),
        Prop("webhookUrl", String(description: "Where the platform posts: /webhooks/{platform}/{id}.")),
        Prop("credentials", ArrayOf(String()), "The names of the stored credentials; their values are never returned."),
        Prop("createdAt", DateTime()));

    public static readonly ApiSchema ChannelWrite = Object("ChannelWrite",
        Optional("platform", Platform, "Required on creation; cannot change."),
        Optional("name", String(), "Required on creation."),
        Optional("model", String(), "Required on creation."),
        Optional("systemPrompt", String().OrNull()),
        Optional("keyId", String().OrNull(), "The key to charge; without it a key is made for the channel."),
        Optional("perUserLimits", AdminSchemas.Limits.OrNull()),
        Optional("apiBaseUrl", String("uri").OrNull()),
        Optional("enabled", Boolean()),
        Optional("audit", Audit),
        Optional("credentials", MapOf(String().OrNull()), "The platform's secrets by name (telegram: botToken, secretToken; slack: botToken, signingSecret; …); in a PATCH null removes one."));

    public static readonly ApiSchema Pending = Object("PendingMessage",
        Prop("object", OneOf("pending_message")),
        Prop("messageKey", String()),
        Prop("conversationId", String()),
        Prop("userId", String()),
        Prop("state", PendingState),
        Prop("reason", String().OrNull()),
        Prop("receivedAt", DateTime()),
        Prop("updatedAt", DateTime()));
}
