using System.Text.Json;
using Serverless.Relay.Canonical;

namespace Serverless.Relay.Formats.OpenAIChat;

/// <summary>Writes a canonical answer as a <c>chat.completion</c> object.</summary>
internal static class OpenAIChatResponseWriter
{
    public static void Write(ChatResponse response, long created, Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("id", response.Id);
        writer.WriteString("object", "chat.completion");
        writer.WriteNumber("created", created);
        writer.WriteString("model", response.Model);

        writer.WriteStartArray("choices");
        writer.WriteStartObject();
        writer.WriteNumber("index", 0);
        writer.WriteStartObject("message");
        writer.WriteString("role", "assistant");

        // Thinking has no place in Chat Completions; text parts join into the one content string.
        string? text = null;
        System.Text.StringBuilder? builder = null;
        var toolCalls = 0;
        foreach (var part in response.Content)
        {
            if (part is TextPart textPart)
            {
                if (text is null)
                {
                    text = textPart.Text;
                }
                else
                {
                    builder ??= new System.Text.StringBuilder(text);
                    builder.Append(textPart.Text);
                }
            }
            else if (part is ToolCallPart)
            {
                toolCalls++;
            }
        }

        if (builder is not null)
        {
            text = builder.ToString();
        }

        if (text is null)
        {
            writer.WriteNull("content");
        }
        else
        {
            writer.WriteString("content", text);
        }

        writer.WriteNull("refusal");
        if (toolCalls > 0)
        {
            writer.WriteStartArray("tool_calls");
            foreach (var part in response.Content)
            {
                if (part is ToolCallPart call)
                {
                    writer.WriteStartObject();
                    writer.WriteString("id", call.Id);
                    writer.WriteString("type", "function");
                    writer.WriteStartObject("function");
                    writer.WriteString("name", call.Name);
                    writer.WriteString("arguments", call.ArgumentsJson);
                    writer.WriteEndObject();
                    writer.WriteEndObject();
                }
            }

            writer.WriteEndArray();
        }

        writer.WriteStartArray("annotations");
        writer.WriteEndArray();
        writer.WriteEndObject();
        writer.WriteNull("logprobs");
        writer.WriteString("finish_reason", OpenAIChatWire.WriteFinishReason(response.StopReason));
        writer.WriteEndObject();
        writer.WriteEndArray();

        OpenAIChatWire.WriteUsageProperty(response.Usage, writer);
        writer.WriteEndObject();
    }
}
