using System.Text.Json;
using System.Text.Json.Nodes;
using Serverless.Relay.Canonical;

namespace Serverless.Relay.Formats.Anthropic;

/// <summary>Writes canonical content parts as Anthropic content blocks (requests and responses share the block shapes).</summary>
internal static class AnthropicContentWriter
{
    public static void WriteText(Utf8JsonWriter writer, TextPart text)
    {
        writer.WriteStartObject();
        writer.WriteString("type", "text");
        writer.WriteString("text", text.Text);
        WriteCacheControl(writer, text.CacheControl);
        writer.WriteEndObject();
    }

    /// <summary>Inline data (or a data URL) becomes a base64 source, anything else a URL source.</summary>
    public static void WriteImage(Utf8JsonWriter writer, ImagePart image)
    {
        writer.WriteStartObject();
        writer.WriteString("type", "image");
        writer.WriteStartObject("source");
        if (image.Data is not null)
        {
            writer.WriteString("type", "base64");
            writer.WriteString("media_type", image.MediaType ?? "image/png");
            writer.WriteString("data", image.Data);
        }
        else if (image.Url is not null && DataUrl.TryParse(image.Url, out var mediaType, out var data))
        {
            writer.WriteString("type", "base64");
            writer.WriteString("media_type", mediaType);
            writer.WriteString("data", data);
        }
        else
        {
            writer.WriteString("type", "url");
            writer.WriteString("url", image.Url);
        }

        writer.WriteEndObject();
        WriteCacheControl(writer, image.CacheControl);
        writer.WriteEndObject();
    }

    /// <summary>
    /// A <c>document</c> block: a text file as a text source (Anthropic's base64 source takes PDFs only), other inline
    /// data as a base64 source, anything else as a URL source. The name becomes the title the model is shown.
    /// </summary>
    /// <remarks>See https://docs.claude.com/en/docs/build-with-claude/pdf-support.</remarks>
    public static void WriteDocument(Utf8JsonWriter writer, DocumentPart document)
    {
        writer.WriteStartObject();
        writer.WriteString("type", "document");
        writer.WriteStartObject("source");
        if (document.DecodeText() is { } text)
        {
            writer.WriteString("type", "text");
            writer.WriteString("media_type", DocumentPart.PlainText);
            writer.WriteString("data", text);
        }
        else if (document.Data is not null)
        {
            writer.WriteString("type", "base64");
            writer.WriteString("media_type", document.MediaType ?? DocumentPart.Pdf);
            writer.WriteString("data", document.Data);
        }
        else
        {
            writer.WriteString("type", "url");
            writer.WriteString("url", document.Url);
        }

        writer.WriteEndObject();
        if (document.Name is not null)
        {
            writer.WriteString("title", document.Name);
        }

        WriteCacheControl(writer, document.CacheControl);
        writer.WriteEndObject();
    }

    /// <param name="response">
    /// Answers carry <c>"caller":{"type":"direct"}</c> (the SDKs' response models require it since programmatic tool
    /// calling); requests leave it out.
    /// </param>
    public static void WriteToolUse(Utf8JsonWriter writer, ToolCallPart call, bool response)
    {
        writer.WriteStartObject();
        writer.WriteString("type", "tool_use");
        writer.WriteString("id", AnthropicWire.ToolUseId(call.Id));
        writer.WriteString("name", call.Name);
        AnthropicWire.WriteToolInput(writer, call.ArgumentsJson);
        if (response)
        {
            WriteDirectCaller(writer);
        }

        writer.WriteEndObject();
    }

    public static void WriteDirectCaller(Utf8JsonWriter writer)
    {
        writer.WriteStartObject("caller");
        writer.WriteString("type", "direct");
        writer.WriteEndObject();
    }

    public static void WriteThinking(Utf8JsonWriter writer, ThinkingPart thinking)
    {
        writer.WriteStartObject();
        writer.WriteString("type", "thinking");
        writer.WriteString("thinking", thinking.Text);
        writer.WriteString("signature", thinking.Signature ?? string.Empty);
        writer.WriteEndObject();
    }

    public static void WriteCacheControl(Utf8JsonWriter writer, JsonObject? cacheControl)
    {
        if (cacheControl is not null)
        {
            writer.WritePropertyName("cache_control");
            cacheControl.WriteTo(writer);
        }
    }
}
