using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Serverless.Relay.Canonical;
using Serverless.Relay.Sessions;
using Xunit;

namespace Serverless.Tests.Sessions;

public sealed class SessionKeyTests
{
    private static ChatRequest Request(string system, params (ChatRole Role, string Text)[] messages) => new()
    {
        Model = "m",
        System = system.Length > 0 ? [new TextPart(system)] : [],
        Messages = messages.Select(m => new ChatMessage(m.Role, [new TextPart(m.Text)])).ToArray(),
    };

    private static string? Key(ChatRequest request, string body = "{}", string? header = null, string keyId = "key_1")
    {
        var http = new DefaultHttpContext().Request;
        if (header is not null)
        {
            http.Headers[SessionKey.Header] = header;
        }

        return Of(keyId, request, SessionKey.ClientHint(http.Headers, JsonDocument.Parse(body).RootElement));
    }

    // As the forwarder puts the parts together for a request built in code: the id it names, else its prompt's.
    private static string? Of(string keyId, ChatRequest request, string? clientHint) =>
        (SessionKey.Named(RequestHead.Of(request), clientHint) ?? SessionKey.Derived(request)) is { } id ? SessionKey.Of(keyId, request.Model, id) : null;

    [Theory]
    [InlineData("key_1", "gpt-4o", "u:alice")]
    [InlineData("key_1", "Claude-Sonnet-4", "h:sess-9")]
    [InlineData("key_é", "MODEL-İ", "d:5f2c")]
    [InlineData("key_1", "m\uD800", "\uDC00lone surrogates at the joins")]
    [InlineData("", "", "")]
    public void Of_AnyTexts_TheHashOfTheJoinedTexts(string keyId, string model, string id)
    {
        // The keys bindings were stored under: the SHA-256 of key, lower-cased model and id joined by newlines, as UTF-8.
        var stored = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', keyId, model.ToLowerInvariant(), id))).AsSpan(0, 16));

        Assert.Equal(stored, SessionKey.Of(keyId, model, id));
    }

    [Fact]
    public void Of_LongId_HashedWhole()
    {
        var id = new string('x', 100_000);

        Assert.NotEqual(SessionKey.Of("key_1", "m", id), SessionKey.Of("key_1", "m", id + "y"));
        Assert.Equal(32, SessionKey.Of("key_1", "m", id).Length);
    }

    [Fact]
    public void Of_LaterTurnsOfOneConversation_SameKey()
    {
        var first = Request("be brief", (ChatRole.User, "hello"));
        var later = Request("be brief", (ChatRole.User, "hello"), (ChatRole.Assistant, "hi"), (ChatRole.User, "more"));

        Assert.Equal(Key(first), Key(later));
        Assert.NotEqual(Key(first), Key(Request("be brief", (ChatRole.User, "other"))));
    }

    [Fact]
    public void Of_ExplicitIds_WinOverTheDerivedHash()
    {
        var request = Request("s", (ChatRole.User, "hello"));

        Assert.Equal(Key(request, header: "abc"), Key(Request("x", (ChatRole.User, "y")), header: "abc"));
        Assert.Equal(Key(request, """{"prompt_cache_key":"p1"}"""), Key(Request("x", (ChatRole.User, "y")), """{"prompt_cache_key":"p1"}"""));
        Assert.Equal(Key(request with { User = "u1" }), Key(Request("x", (ChatRole.User, "y")) with { User = "u1" }));
    }

    [Fact]
    public void Of_OtherClientKeyOrModel_OtherBinding()
    {
        var request = Request("", (ChatRole.User, "hello"));

        Assert.NotEqual(Key(request, keyId: "key_1"), Key(request, keyId: "key_2"));
        Assert.NotEqual(Key(request), Key(request with { Model = "n" }));
        Assert.Matches("^[0-9a-f]{32}$", Key(request));
    }

    [Fact]
    public void Of_NothingToIdentify_Null()
    {
        Assert.Null(Key(new ChatRequest { Model = "m", Messages = [] }));
    }

    [Fact]
    public void Of_DerivedKey_IsTheHashOfTheJoinedText()
    {
        // A surrogate pair across the hasher's 4096-char chunks, and one across two parts: the bytes must be those of the joined text.
        var first = new string('a', 4095) + "\U0001F600" + new string('b', 10_000) + "\uD83D";
        var request = new ChatRequest
        {
            Model = "M",
            System = [new TextPart("sys one"), new TextPart("")],
            Messages =
            [
                new ChatMessage(ChatRole.Assistant, [new TextPart("ignored")]),
                new ChatMessage(ChatRole.User, [new TextPart(first), new TextPart("\uDE00 tail")]),
                new ChatMessage(ChatRole.User, [new TextPart("later turn")]),
            ],
        };

        var joined = "sys one\n\n\u0001" + first + "\uDE00 tail";
        var id = "p:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(joined)));
        var expected = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("key_1\nm\n" + id)).AsSpan(0, 16));

        Assert.Equal(expected, Of("key_1", request, clientHint: null));
    }

    [Fact]
    public void Of_LargeFirstMessage_HashedWithoutCopyingIt()
    {
        var request = Request("be brief", (ChatRole.User, new string('x', 8 * 1024 * 1024)));
        Of("key_1", request, clientHint: null); // JIT and pool warm-up out of the count

        var before = GC.GetAllocatedBytesForCurrentThread();
        var key = Of("key_1", request, clientHint: null);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.NotNull(key);
        Assert.True(allocated < 64 * 1024, $"hashing an 8 M-char message allocated {allocated} bytes");
    }

    public static TheoryData<string, string> ConversationBodies() => new()
    {
        { "openai-chat", """{"model":"m","messages":[{"role":"system","content":"be brief"},{"role":"assistant","content":"earlier"},{"role":"user","content":[{"type":"text","text":"line\none \"q\" \u00e9"},{"type":"image_url","image_url":{"url":"https://x/i.png"}},{"type":"text","text":" two"}]},{"role":"developer","content":[{"type":"text","text":"dev"}]},{"role":"user","content":"later"}]}""" },
        { "openai-chat", """{"model":"m","messages":[{"role":"user","content":"only \ud83d\ude00 user"}]}""" },
        { "responses", """{"model":"m","instructions":"inst","input":[{"role":"developer","content":"dev"},{"type":"message","role":"user","content":[{"type":"input_text","text":"hello"},{"type":"input_image","image_url":"https://x/i.png"}]},{"role":"user","content":"later"}]}""" },
        { "responses", """{"model":"m","input":"just a string"}""" },
        { "anthropic", """{"model":"m","max_tokens":9,"system":[{"type":"text","text":"sys a"},{"type":"text","text":"sys b","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image","source":{"type":"url","url":"https://x/i.png"}}]}]}""" },
        { "anthropic", """{"model":"m","max_tokens":9,"system":"plain","messages":[{"role":"user","content":"hi there"}]}""" },
        { "gemini", """{"systemInstruction":{"parts":[{"text":"sys"}]},"contents":[{"role":"user","parts":[{"text":"a"},{"text":"b"}]},{"role":"model","parts":[{"text":"c"}]}]}""" },
        { "gemini", """{"system_instruction":{"parts":[{"text":"sys"}]},"contents":[{"parts":[{"text":"no role"}]}]}""" },
    };

    [Theory]
    [MemberData(nameof(ConversationBodies))]
    public void Derived_FromTheBody_SameIdAsFromTheCanonicalRequest(string format, string body)
    {
        var chatFormat = Formats.RequestHeadTests.FormatNamed(format);
        using var document = JsonDocument.Parse(body);
        var canonical = chatFormat.ReadRequest(document.RootElement, format == "gemini" ? "m" : null, stream: false);
        Assert.True(canonical.IsSuccess, canonical.Error?.Message);

        var fromBody = SessionKey.Derived(chatFormat, document.RootElement);

        Assert.NotNull(fromBody);
        Assert.Equal(SessionKey.Derived(canonical.Value!), fromBody);
    }

    [Fact]
    public void Derived_FromTheBody_OtherFirstUserMessage_OtherId()
    {
        var format = Formats.RequestHeadTests.FormatNamed("openai-chat");
        using var one = JsonDocument.Parse("""{"model":"m","messages":[{"role":"user","content":"one"}]}""");
        using var two = JsonDocument.Parse("""{"model":"m","messages":[{"role":"user","content":"two"}]}""");

        Assert.NotEqual(SessionKey.Derived(format, one.RootElement), SessionKey.Derived(format, two.RootElement));
    }

    [Fact]
    public void Derived_FromTheBody_LargeFirstMessage_HashedInPlace()
    {
        var body = Encoding.UTF8.GetBytes("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"" + new string('x', 8 * 1024 * 1024) + "\"}]}");
        using var document = JsonDocument.Parse(body);
        var format = Formats.RequestHeadTests.FormatNamed("openai-chat");
        SessionKey.Derived(format, document.RootElement); // JIT and pool warm-up out of the count

        var before = GC.GetAllocatedBytesForCurrentThread();
        var id = SessionKey.Derived(format, document.RootElement);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.NotNull(id);
        Assert.True(allocated < 64 * 1024, $"hashing an 8 MB message from the body allocated {allocated} bytes");
    }
}
