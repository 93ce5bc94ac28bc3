using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats.Json;

namespace Serverless.Relay.Formats.OpenAIResponses;

/// <summary>Writes a <see cref="ChatResponse"/> as the Responses API's response object.</summary>
internal static class ResponsesResponseWriter
{
    public static void Write(ChatResponse response, long createdAt, RequestEcho echo, Utf8JsonWriter writer)
    {
        var id = ResponsesWire.ResponseId(response.Id);
        var head = new ResponseHead(
            id,
            createdAt,
            ResponsesWire.StatusOf(response.StopReason),
            ResponsesWire.IncompleteReasonOf(response.StopReason),
            response.Model,
            echo);

        ResponsesWire.WriteResponseHead(writer, head);
        WriteOutput(writer, id, response.Content, response.StopReason, echo);
        ResponsesWire.WriteResponseTail(writer, head, response.Usage);
    }

    /// <summary>
    /// Consecutive text parts form one message item; a tool call or reasoning ends it, so the items keep the order in
    /// which the model produced them. The stream encoder applies the same rule, so ids and indices match. A call is
    /// written as the client declared its tool (<paramref name="echo"/>): a custom tool's as a <c>custom_tool_call</c>.
    /// </summary>
    private static void WriteOutput(Utf8JsonWriter writer, string responseId, IReadOnlyList<ContentPart> content, StopReason stopReason, RequestEcho echo)
    {
        writer.WriteStartArray();
        var lastItemPart = LastItemPart(content);
        var outputIndex = 0;
        var i = 0;
        while (i < content.Count)
        {
            switch (content[i])
            {
                case TextPart:
                    var end = i;
                    while (end < content.Count && content[end] is TextPart)
                    {
                        end++;
                    }

                    ResponsesWire.WriteMessageItemStart(writer, ResponsesWire.ItemId("msg_", responseId, outputIndex), ResponsesWire.ItemStatusOf(stopReason, last: end - 1 == lastItemPart));
                    for (; i < end; i++)
                    {
                        ResponsesWire.WriteOutputText(writer, ((TextPart)content[i]).Text);
                    }

                    ResponsesWire.WriteMessageItemEnd(writer);
                    outputIndex++;
                    break;
                case ToolCallPart call:
                    var status = ResponsesWire.ItemStatusOf(stopReason, last: i == lastItemPart);
                    var tool = echo.ToolNamed(call.Name);
                    if (tool is { IsCustom: true })
                    {
                        var input = OpenAICustomTool.InputOf(call.ArgumentsJson);
                        ResponsesWire.WriteCustomToolCallItem(writer, ResponsesWire.ItemId("ctc_", responseId, outputIndex), call.Id, call.Name, input, status, tool.Namespace);
                    }
                    else
                    {
                        ResponsesWire.WriteFunctionCallItem(writer, ResponsesWire.ItemId("fc_", responseId, outputIndex), call.Id, call.Name, call.ArgumentsJson, status, tool?.Namespace);
                    }

                    outputIndex++;
                    i++;
                    break;
                case ThinkingPart thinking:
                    // The signature goes in encrypted_content, tagged with its maker, for the client to send back.
                    var encryptedContent = ResponsesSignedReasoning.EncryptedContent(thinking.Signature, thinking.SignedBy);
                    ResponsesWire.WriteReasoningItem(writer, ResponsesWire.ItemId("rs_", responseId, outputIndex), thinking.Text, encryptedContent);
                    outputIndex++;
                    i++;
                    break;
                default:
                    // Images and tool results never appear in an answer.
                    i++;
                    break;
            }
        }

        writer.WriteEndArray();
    }

    /// <summary>The index of the part that ends the last output item; -1 when no part makes one.</summary>
    private static int LastItemPart(IReadOnlyList<ContentPart> content)
    {
        for (var i = content.Count - 1; i >= 0; i--)
        {
            if (content[i] is TextPart or ToolCallPart or ThinkingPart)
            {
                return i;
            }
        }

        return -1;
    }
}
