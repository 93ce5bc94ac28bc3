using System.Text.Json;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Anthropic;
using Serverless.Relay.Formats.Gemini;
using Serverless.Relay.Formats.OpenAIChat;
using Serverless.Relay.Formats.OpenAIResponses;
using Xunit;

namespace Serverless.Tests.Formats.Json;

/// <summary>
/// Documents through every translation: each client format's PDF is read into a <see cref="DocumentPart"/> and written in
/// each upstream format's own document shape; references to a provider's file store are refused naming the field.
/// </summary>
public sealed class DocumentTranslationTests
{
    private const string Pdf = "JVBERi0xLjQ=";

    private static readonly Dictionary<string, IChatFormat> Formats = new()
    {
        ["openai-chat"] = OpenAIChatFormat.Default,
        ["responses"] = OpenAIResponsesFormat.Instance,
        ["anthropic"] = AnthropicFormat.Instance,
        ["gemini"] = GeminiFormat.Instance,
    };

    // A question and a PDF named report.pdf (Gemini has no place for a name).
    private static readonly Dictionary<string, string> PdfRequests = new()
    {
        ["openai-chat"] = """{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"Summarize"},{"type":"file","file":{"filename":"report.pdf","file_data":"data:application/pdf;base64,JVBERi0xLjQ="}}]}]}""",
        ["responses"] = """{"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":"Summarize"},{"type":"input_file","filename":"report.pdf","file_data":"data:application/pdf;base64,JVBERi0xLjQ="}]}]}""",
        ["anthropic"] = """{"model":"m","max_tokens":100,"messages":[{"role":"user","content":[{"type":"text","text":"Summarize"},{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0xLjQ="},"title":"report.pdf"}]}]}""",
        ["gemini"] = """{"contents":[{"role":"user","parts":[{"text":"Summarize"},{"inlineData":{"mimeType":"application/pdf","data":"JVBERi0xLjQ="}}]}]}""",
    };

    public static TheoryData<string, string> Matrix()
    {
        var data = new TheoryData<string, string>();
        foreach (var client in Formats.Keys)
        {
            foreach (var upstream in Formats.Keys)
            {
                data.Add(client, upstream);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public void Translate_Pdf_UpstreamGetsItsOwnDocumentShape(string client, string upstream)
    {
        var written = Write(Read(client, PdfRequests[client]), upstream);

        // A document from Gemini has no name: OpenAI, which wants one, gets one after its type; Anthropic gets no title.
        var named = client != "gemini";
        var expected = (upstream switch
        {
            "openai-chat" => """[{"type":"text","text":"Summarize"},{"type":"file","file":{"filename":"@NAME@","file_data":"data:application/pdf;base64,@PDF@"}}]""",
            "responses" => """[{"type":"input_text","text":"Summarize"},{"type":"input_file","filename":"@NAME@","file_data":"data:application/pdf;base64,@PDF@"}]""",
            "anthropic" => """[{"type":"text","text":"Summarize"},{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"@PDF@"}@TITLE@}]""",
            _ => """[{"text":"Summarize"},{"inlineData":{"mimeType":"application/pdf","data":"@PDF@"}}]""",
        })
            .Replace("@NAME@", named ? "report.pdf" : "document.pdf", StringComparison.Ordinal)
            .Replace("@TITLE@", named ? ",\"title\":\"report.pdf\"" : "", StringComparison.Ordinal)
            .Replace("@PDF@", Pdf, StringComparison.Ordinal);
        Assert.Equal(expected, UserContent(written, upstream));
    }

    [Theory]
    [InlineData("openai-chat", """[{"type":"text","text":"Read this"},{"type":"text","text":"plain notes"}]""")]
    [InlineData("responses", """[{"type":"input_text","text":"Read this"},{"type":"input_file","filename":"notes","file_data":"data:text/plain;base64,cGxhaW4gbm90ZXM="}]""")]
    [InlineData("anthropic", """[{"type":"text","text":"Read this"},{"type":"document","source":{"type":"text","media_type":"text/plain","data":"plain notes"},"title":"notes","cache_control":{"type":"ephemeral"}}]""")]
    [InlineData("gemini", """[{"text":"Read this"},{"inlineData":{"mimeType":"text/plain","data":"cGxhaW4gbm90ZXM="}}]""")]
    public void Translate_AnthropicTextDocument_TextWhereOnlyPdfsAreFiles(string upstream, string expected)
    {
        var request = Read("anthropic", """
            {"model":"m","max_tokens":100,"messages":[{"role":"user","content":[{"type":"text","text":"Read this"},
             {"type":"document","source":{"type":"text","media_type":"text/plain","data":"plain notes"},"title":"notes","context":"dropped","citations":{"enabled":true},"cache_control":{"type":"ephemeral"}}]}]}
            """);

        Assert.Equal(expected, UserContent(Write(request, upstream), upstream));
    }

    [Fact]
    public void Translate_GeminiTextFile_AnthropicGetsATextSource()
    {
        var request = Read("gemini", """{"contents":[{"role":"user","parts":[{"inlineData":{"mimeType":"text/plain","data":"cGxhaW4gbm90ZXM="}}]}]}""");

        Assert.Equal(
            """[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"plain notes"}}]""",
            UserContent(Write(request, "anthropic"), "anthropic"));
    }

    [Theory]
    [InlineData("responses", """[{"type":"input_file","filename":"spec","file_url":"https://example.com/spec.pdf"}]""")]
    [InlineData("anthropic", """[{"type":"document","source":{"type":"url","url":"https://example.com/spec.pdf"},"title":"spec"}]""")]
    [InlineData("gemini", """[{"fileData":{"mimeType":"application/pdf","fileUri":"https://example.com/spec.pdf"}}]""")]
    public void Translate_DocumentByUrl_UpstreamGetsTheUrl(string upstream, string expected)
    {
        var request = Read("anthropic", """{"model":"m","max_tokens":100,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"url","url":"https://example.com/spec.pdf"},"title":"spec"}]}]}""");

        Assert.Null(Formats[upstream].CannotCarry(request));
        Assert.Equal(expected, UserContent(Write(request, upstream), upstream));
    }

    [Fact]
    public void CannotCarry_DocumentByUrlForChatCompletions_SaysWhy()
    {
        var byUrl = Read("responses", """{"model":"m","input":[{"role":"user","content":[{"type":"input_file","file_url":"https://example.com/spec.pdf"}]}]}""");
        var inline = Read("responses", PdfRequests["responses"]);

        Assert.Equal(
            "a document given by URL cannot be sent to the upstream serving this model, which speaks OpenAI Chat Completions and takes files inline only; send the file's data instead",
            OpenAIChatFormat.Default.CannotCarry(byUrl)?.Message);
        Assert.Null(OpenAIChatFormat.Default.CannotCarry(inline));
    }

    [Theory]
    [InlineData("image/png", typeof(ImagePart))]
    [InlineData("application/pdf", typeof(DocumentPart))]
    [InlineData("text/csv", typeof(DocumentPart))]
    public void ReadRequest_GeminiInlineData_ImageOnlyForImageTypes(string mimeType, Type expected)
    {
        var request = Read("gemini", """{"contents":[{"role":"user","parts":[{"inlineData":{"mimeType":"@TYPE@","data":"AAAA"}}]}]}""".Replace("@TYPE@", mimeType, StringComparison.Ordinal));

        Assert.IsType(expected, Assert.Single(request.Messages[0].Content));
    }

    [Fact]
    public void Translate_DocumentInAnthropicToolResult_ReachesResponsesAndGemini()
    {
        var request = Read("anthropic", """
            {"model":"m","max_tokens":100,"messages":[
              {"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"fetch","input":{}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0xLjQ="}}]}]}]}
            """);

        var responses = Write(request, "responses").GetProperty("input")[1];
        Assert.Equal(
            """{"type":"function_call_output","call_id":"t1","output":[{"type":"input_file","filename":"document.pdf","file_data":"data:application/pdf;base64,JVBERi0xLjQ="}]}""",
            responses.GetRawText());
        var gemini = Write(request, "gemini").GetProperty("contents")[1].GetProperty("parts");
        Assert.Equal("""{"inlineData":{"mimeType":"application/pdf","data":"JVBERi0xLjQ="}}""", gemini[1].GetRawText());
    }

    [Fact]
    public void Translate_ImageInGeminiFunctionResponseParts_ReachesAnthropicToolResultAndChat()
    {
        // As Gemini CLI sends a file its read_file tool read, for a Gemini 3 model.
        var request = Read("gemini", """
            {"contents":[{"role":"user","parts":[{"text":"What is in a.png?"}]},
              {"role":"model","parts":[{"functionCall":{"id":"c1","name":"read_file","args":{"path":"a.png"}}}]},
              {"role":"user","parts":[{"functionResponse":{"id":"c1","name":"read_file","response":{"output":"Binary content provided (1 item(s))."},
                "parts":[{"inlineData":{"mimeType":"image/png","data":"AAAA"}},{"inlineData":{"mimeType":"application/pdf","data":"JVBERi0xLjQ="}}]}}]}]}
            """);

        var anthropic = Write(request, "anthropic").GetProperty("messages")[2].GetProperty("content")[0];
        Assert.Equal(
            """{"type":"tool_result","tool_use_id":"c1","content":[{"type":"text","text":"Binary content provided (1 item(s))."},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}},{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0xLjQ="}}]}""",
            anthropic.GetRawText());
        var chat = Write(request, "openai-chat").GetProperty("messages");
        Assert.Equal(
            """{"role":"user","content":[{"type":"text","text":"Returned by tool call c1:"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}},{"type":"text","text":"Returned by tool call c1:"},{"type":"file","file":{"filename":"document.pdf","file_data":"data:application/pdf;base64,JVBERi0xLjQ="}}]}""",
            chat[chat.GetArrayLength() - 1].GetRawText());
    }

    public static TheoryData<string, string, string, string> StoredFileRequests => new()
    {
        {
            "openai-chat",
            """{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"file","file":{"file_id":"file-abc"}}]}]}""",
            "messages[0].content[1].file.file_id: a file stored with OpenAI can only be read by OpenAI, and this model is served by translating the request for another provider; send the file inline as file_data instead",
            "messages[0].content[1].file.file_id"
        },
        {
            "responses",
            """{"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":"hi"},{"type":"input_file","file_id":"file-abc"}]}]}""",
            "input[0].content[1].file_id: a file stored with OpenAI can only be read by OpenAI, and this model is served by translating the request for another provider; send the file inline as file_data instead",
            "input"
        },
        {
            "anthropic",
            """{"model":"m","max_tokens":100,"messages":[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"document","source":{"type":"file","file_id":"file_011"}}]}]}""",
            "messages[0].content[1].source.file_id: a file stored with Anthropic can only be read by Anthropic, and this model is served by translating the request for another provider; send the file inline as a base64 source instead",
            "messages"
        },
        {
            "anthropic",
            """{"model":"m","max_tokens":100,"messages":[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image","source":{"type":"file","file_id":"file_011"}}]}]}""",
            "messages[0].content[1].source.file_id: a file stored with Anthropic can only be read by Anthropic, and this model is served by translating the request for another provider; send the file inline as a base64 source instead",
            "messages"
        },
        {
            "gemini",
            """{"contents":[{"role":"user","parts":[{"text":"hi"},{"fileData":{"mimeType":"application/pdf","fileUri":"https://generativelanguage.googleapis.com/v1beta/files/abc-123"}}]}]}""",
            "contents[0].parts[1].fileData.fileUri: a file stored with Gemini can only be read by Gemini, and this model is served by translating the request for another provider; send the file inline as inlineData instead",
            "contents[0].parts[1].fileData.fileUri"
        },
        {
            "gemini",
            """{"contents":[{"role":"user","parts":[{"functionResponse":{"name":"f","response":{},"parts":[{"fileData":{"mimeType":"image/png","fileUri":"https://generativelanguage.googleapis.com/v1beta/files/abc-123"}}]}}]}]}""",
            "contents[0].parts[0].functionResponse.parts[0].fileData.fileUri: a file stored with Gemini can only be read by Gemini, and this model is served by translating the request for another provider; send the file inline as inlineData instead",
            "contents[0].parts[0].functionResponse.parts[0].fileData.fileUri"
        },
        {
            "gemini",
            """{"cachedContent":"cachedContents/abc-123","contents":[{"role":"user","parts":[{"text":"hi"}]}]}""",
            "cachedContent: content cached with Gemini can only be read by Gemini, and this model is served by translating the request for another provider; send the cached systemInstruction, tools and contents in the request instead",
            "cachedContent"
        },
        {
            "gemini",
            """{"cached_content":"cachedContents/abc-123","contents":[{"role":"user","parts":[{"text":"hi"}]}]}""",
            "cachedContent: content cached with Gemini can only be read by Gemini, and this model is served by translating the request for another provider; send the cached systemInstruction, tools and contents in the request instead",
            "cachedContent"
        },
    };

    [Theory]
    [MemberData(nameof(StoredFileRequests))]
    public void ReadRequest_ProviderStoredFile_InvalidNamingTheField(string client, string body, string message, string param)
    {
        var result = Formats[client].ReadRequest(Parse(body), client == "gemini" ? "gemini-2.5-flash" : null, false);

        Assert.False(result.IsSuccess);
        Assert.Equal(message, result.Error!.Message);
        Assert.Equal(param, result.Error.Param);
    }

    [Theory]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":[{"type":"file","file":{"filename":"a.pdf"}}]}]}""", "messages[0].content[0].file.file_data: field required")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":[{"type":"file","file":"a.pdf"}]}]}""", "messages[0].content[0].file: must be an object")]
    [InlineData("""{"model":"m","messages":[{"role":"assistant","content":[{"type":"file","file":{"file_data":"JVBERi0="}}]}]}""", "messages[0].content[0].type: must be one of text, refusal")]
    public void ReadRequest_ChatBadFilePart_InvalidNamingTheField(string body, string message)
    {
        var result = OpenAIChatFormat.Default.ReadRequest(Parse(body), null, false);

        Assert.Equal(message, result.Error?.Message);
    }

    [Fact]
    public void ReadRequest_ChatFileDataWithoutDataUrl_IsAPdf()
    {
        var request = Read("openai-chat", """{"model":"m","messages":[{"role":"user","content":[{"type":"file","file":{"file_data":"JVBERi0xLjQ=","file_id":"file-ignored"}}]}]}""");

        Assert.Equal(new DocumentPart { MediaType = "application/pdf", Data = Pdf }, Assert.Single(request.Messages[0].Content));
    }

    [Fact]
    public void Count_Document_CountsTwoImagesNotItsBase64()
    {
        var text = new ChatRequest { Model = "m", Messages = [new ChatMessage(ChatRole.User, [new TextPart("Summarize")])] };
        var withDocument = text with
        {
            Messages = [new ChatMessage(ChatRole.User, [new TextPart("Summarize"), new DocumentPart { MediaType = "application/pdf", Data = new string('A', 40_000) }])],
        };
        var withImage = text with { Messages = [new ChatMessage(ChatRole.User, [new TextPart("Summarize"), new ImagePart { Url = "https://example.com/a.png" }])] };

        var estimator = PromptTallyCheck.Estimator;
        Assert.Equal(2 * (estimator.Count(withImage) - estimator.Count(text)), estimator.Count(withDocument) - estimator.Count(text));
    }

    private static ChatRequest Read(string client, string body) => Translation.Read(Formats[client], body);

    private static JsonElement Write(ChatRequest request, string upstream) => Translation.Write(request, Formats[upstream]);

    /// <summary>The content of the upstream body's first user message, as compact JSON.</summary>
    private static string UserContent(JsonElement body, string upstream) => upstream switch
    {
        "openai-chat" or "anthropic" => body.GetProperty("messages")[0].GetProperty("content").GetRawText(),
        "responses" => body.GetProperty("input")[0].GetProperty("content").GetRawText(),
        _ => body.GetProperty("contents")[0].GetProperty("parts").GetRawText(),
    };

    private static JsonElement Parse(string json) => Translation.Parse(json);
}
