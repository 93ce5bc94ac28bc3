using System.Globalization;
using System.Text.Json;
using Serverless.Webhooks.Messaging;

namespace Serverless.Handler.FunctionsHost;

/// <summary>
/// The JSON invocation the Functions host would POST for a Service Bus message, encoded as the host encodes it
/// (<c>GetHttpScriptInvocationContextValue</c>: strings serialized once more, numbers as strings, times without their
/// kind), so local mode goes through exactly the reading that runs behind the host, traps included.
/// </summary>
internal static class LocalInvocationRequest
{
    public static byte[] Write(QueueRegistration function, LocalQueueEnvelope message, long deliveryCount, DateTimeOffset now)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject("Data");
            json.WriteString(function.BindingName, Encoded(message.Body));
            json.WriteEndObject();

            json.WriteStartObject("Metadata");
            json.WriteString("MessageId", Encoded(message.MessageId));
            json.WriteString("SessionId", Encoded(message.SessionId));
            json.WriteString("DeliveryCount", deliveryCount.ToString(CultureInfo.InvariantCulture));
            json.WriteString("EnqueuedTimeUtc", message.EnqueuedTime.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture));
            json.WriteString("EnqueuedTime", message.EnqueuedTime.ToString("yyyy-MM-ddTHH:mm:ss.FFFFFFFzzz", CultureInfo.InvariantCulture));
            json.WriteString("ContentType", Encoded("application/json"));
            json.WriteStartObject("sys");
            json.WriteString("MethodName", function.FunctionName);
            json.WriteString("UtcNow", now.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
            json.WriteString("RandGuid", Guid.NewGuid().ToString());
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>A string as the host passes it: JSON-serialized, then written as a JSON string.</summary>
    private static string Encoded(string value) => JsonSerializer.Serialize(value, JsonInvocationJson.Default.String);
}
