using System.Text.Json;
using System.Text.Json.Serialization;
using Serverless.Webhooks.Platforms;

namespace Serverless.Webhooks.Messaging;

/// <summary>The body of an <c>im-inbound</c> message: a user message accepted by the webhook, to be answered.</summary>
internal sealed record InboundWork(string ChannelId, InboundMessage Message, DateTimeOffset ReceivedAt);

/// <summary>What an <c>im-outbound</c> message carries.</summary>
internal enum OutboundKind
{
    /// <summary>The LLM's answer to a pending message.</summary>
    Reply,

    /// <summary>A short notice to the user (refused by a limit, upstream failed, timed out): still a reply to the pending message.</summary>
    Notice,

    /// <summary>A notification to an operator's target (account events, quotas); no pending message.</summary>
    Notification,
}

/// <summary>
/// The body of an <c>im-outbound</c> message: text to send to one chat. <see cref="NextPart"/> is the first part not yet
/// sent, so a delivery rescheduled after a platform 429 resumes where it stopped and parts stay in order.
/// </summary>
/// <remarks>
/// A <see cref="OutboundKind.Notification"/> goes to a notification target, not a channel: <see cref="ChannelId"/> and
/// <see cref="ReplyTarget.ChatId"/> hold the target's id, <see cref="MessageKey"/> the event's key, and
/// <see cref="Notification"/> what a webhook target receives besides the text.
/// </remarks>
internal sealed record OutboundReply(string ChannelId, string MessageKey, ReplyTarget Target, string Text, OutboundKind Kind)
{
    public int NextPart { get; init; }

    /// <summary>Set on a <see cref="OutboundKind.Notification"/> only.</summary>
    public OutboundNotification? Notification { get; init; }
}

/// <summary>
/// What a notification says as data: the event (<c>account</c>, <c>quota</c> or <c>test</c>), its fields (account
/// id and status, key id and limit, ...; never a secret) and when it happened.
/// </summary>
internal sealed record OutboundNotification(string TargetId, string Event, IReadOnlyDictionary<string, string> Fields, DateTimeOffset At);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(InboundWork))]
[JsonSerializable(typeof(OutboundReply))]
[JsonSerializable(typeof(ReplyTarget))]
internal sealed partial class ImMessageJson : JsonSerializerContext;

/// <summary>Reads and writes the queue bodies of the IM flow (always JSON objects).</summary>
internal static class ImMessages
{
    public static string Write(InboundWork work) => JsonSerializer.Serialize(work, ImMessageJson.Default.InboundWork);

    public static string Write(OutboundReply reply) => JsonSerializer.Serialize(reply, ImMessageJson.Default.OutboundReply);

    /// <exception cref="JsonException">The body is not an <see cref="InboundWork"/>.</exception>
    public static InboundWork ReadInbound(string body) =>
        JsonSerializer.Deserialize(body, ImMessageJson.Default.InboundWork) ?? throw new JsonException("im-inbound body is null");

    /// <exception cref="JsonException">The body is not an <see cref="OutboundReply"/>.</exception>
    public static OutboundReply ReadOutbound(string body) =>
        JsonSerializer.Deserialize(body, ImMessageJson.Default.OutboundReply) ?? throw new JsonException("im-outbound body is null");
}
