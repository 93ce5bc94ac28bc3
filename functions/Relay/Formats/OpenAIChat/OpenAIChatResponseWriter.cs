using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Json;

namespace Serverless.Relay.Formats.OpenAIChat;

/// <summary>Writes a canonical answer as a <c>chat.completion</c> object.</summary>
internal static class OpenAIChatResponseWriter
{
    /// <param name="request">What the client asked: a call to one of its custom tools is written as a custom tool call.</param>
    public static void Write(ChatResponse response, ChatRequest request, long created, Utf8JsonWriter writer)
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

        // Text parts join into the one content string. Chat Completions has no place for thinking: it goes in
        // reasoning_content, the field DeepSeek and vLLM answer with and the relay reads from them (LiteLLM writes it for
        // Claude's thinking too), which clients that show reasoning read and the others ignore.
        string? text = null;
        System.Text.StringBuilder? builder = null;
        System.Text.StringBuilder? reasoning = null;
        var toolCalls = 0;
        foreach (var part in response.Content)
        {
            if (part is ThinkingPart { Text.Length: > 0 } thinking)
            {
                (reasoning ??= new System.Text.StringBuilder()).Append(thinking.Text);
            }
            else if (part is TextPart textPart)
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
        if (reasoning is not null)
        {
            writer.WriteString("reasoning_content", reasoning.ToString());
        }

        if (toolCalls > 0)
        {
            writer.WriteStartArray("tool_calls");
            foreach (var part in response.Content)
            {
                if (part is ToolCallPart call && OpenAIChatWire.IsCustomTool(request.Tools, call.Name))
                {
                    OpenAIChatWire.WriteCustomToolCall(writer, call.Id, call.Name, OpenAICustomTool.InputOf(call.ArgumentsJson));
                }
                else if (part is ToolCallPart functionCall)
                {
                    writer.WriteStartObject();
                    writer.WriteString("id", functionCall.Id);
                    writer.WriteString("type", "function");
                    writer.WriteStartObject("function");
                    writer.WriteString("name", functionCall.Name);
                    writer.WriteString("arguments", functionCall.ArgumentsJson);
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
