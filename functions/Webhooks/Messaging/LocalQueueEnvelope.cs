using System.Text.Json;
using System.Text.Json.Serialization;

namespace Serverless.Webhooks.Messaging;

/// <summary>
/// A message of the local stand-in for a Service Bus session queue, as it sits in the Azurite Storage queue of the same
/// name: what Service Bus would keep as broker properties travels beside the body. The delivery count is the Storage
/// queue's own <c>DequeueCount</c>, so it is not stored here.
/// </summary>
/// <param name="EnqueuedTime">When it was sent; orders the messages of one session (strictly increasing per process).</param>
internal sealed record LocalQueueEnvelope(string MessageId, string SessionId, string Body, DateTimeOffset EnqueuedTime)
{
    /// <summary>When the sender scheduled it; the message stayed invisible until then.</summary>
    public DateTimeOffset? Scheduled { get; init; }

    public string Write() => JsonSerializer.Serialize(this, LocalQueueEnvelopeJson.Default.LocalQueueEnvelope);

    /// <summary>The envelope, or null when the text is not one (a message someone else put in the queue).</summary>
    public static LocalQueueEnvelope? TryRead(string text)
    {
        try
        {
            return JsonSerializer.Deserialize(text, LocalQueueEnvelopeJson.Default.LocalQueueEnvelope) is { MessageId: not null, SessionId: not null, Body: not null } envelope
                ? envelope
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(LocalQueueEnvelope))]
internal sealed partial class LocalQueueEnvelopeJson : JsonSerializerContext;
