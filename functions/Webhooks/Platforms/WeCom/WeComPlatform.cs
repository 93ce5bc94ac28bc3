using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Xml;
using System.Xml.Linq;
using Microsoft.AspNetCore.Http;
using Serverless.Relay.Formats.Json;
using Serverless.Webhooks.Channels;

namespace Serverless.Webhooks.Platforms.WeCom;

/// <summary>
/// WeCom (企业微信) self-built app callbacks: the url check is a GET whose <c>echostr</c> is verified, decrypted and
/// returned bare; messages are XML whose <c>Encrypt</c> element is verified and decrypted, and whose receiveId must be
/// the channel's CorpID. App messages are one-to-one, so every message is a DM addressed to the app. Replies go through
/// <c>message/send</c> with the access token from <see cref="PlatformTokenCache"/>.
/// </summary>
internal sealed class WeComPlatform(PlatformHttp http, PlatformTokenCache tokens) : IImPlatform
{
    public const string CorpId = "corpId";
    public const string CorpSecret = "corpSecret";
    public const string AgentId = "agentId";
    public const string Token = "token";
    public const string EncodingAesKey = "encodingAesKey";
    private const string Name = "WeCom";

    /// <summary>45009 (API frequency) and 45033 (concurrency): WeCom's limits count per minute and give no retry hint.</summary>
    private static readonly HashSet<long> RateLimited = [45009, 45033];

    public static readonly TimeSpan RateLimitDelay = TimeSpan.FromMinutes(1);

    /// <summary>40014 (invalid access_token) and 42001 (expired): fetch a new token and send again, once.</summary>
    private static readonly HashSet<long> TokenInvalid = [40014, 42001];

    /// <summary>-1 is "system busy": worth another try; other non-zero codes are permanent.</summary>
    private const long SystemBusy = -1;

    private static readonly XmlReaderSettings SafeXml = new() { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null };

    public ImPlatform Platform => ImPlatform.WeCom;

    /// <summary>message/send takes at most 2048 bytes of text content (UTF-8).</summary>
    public int MaxTextLength => 2048;

    public int MeasureText(string text) => Encoding.UTF8.GetByteCount(text);

    public WebhookVerdict Read(Channel channel, WebhookRequest request, DateTimeOffset now)
    {
        if (channel.Credential(Token) is not { Length: > 0 } token || channel.Credential(CorpId) is not { Length: > 0 } corpId
            || WeComCrypto.KeyOf(channel.Credential(EncodingAesKey) ?? "") is not { } key)
        {
            return new WebhookVerdict.Refused(401, "the channel's WeCom token, corpId or encodingAesKey is missing or invalid");
        }

        var signature = Query(request, "msg_signature");
        var timestamp = Query(request, "timestamp");
        var nonce = Query(request, "nonce");
        if (signature is null || timestamp is null || nonce is null)
        {
            return new WebhookVerdict.Refused(401, "missing msg_signature, timestamp or nonce");
        }

        // :: The url check: verify over echostr, answer its plaintext.
        if (HttpMethods.IsGet(request.Method))
        {
            var echo = Query(request, "echostr");
            if (echo is null)
            {
                return WebhookReading.Malformed("url check without echostr");
            }

            return Open(echo, token, timestamp, nonce, signature, key, corpId) is { } plain
                ? new WebhookVerdict.Challenge("text/plain", plain)
                : WebhookReading.BadSignature;
        }

        // :: A message: the envelope, its Encrypt verified and opened, then the message inside.
        if (ParseXml(request.Body) is not { } envelope || envelope.Element("Encrypt")?.Value is not { Length: > 0 } encrypted)
        {
            return WebhookReading.Malformed("not a WeCom XML envelope with Encrypt");
        }

        if (Open(encrypted, token, timestamp, nonce, signature, key, corpId) is not { } xml)
        {
            return WebhookReading.BadSignature;
        }

        return ParseXml(Encoding.UTF8.GetBytes(xml)) is { } message
            ? ReadMessage(message)
            : WebhookReading.Malformed("the decrypted WeCom message is not XML");
    }

    /// <summary>Verifies and decrypts; null when the signature, the decryption or the receiveId is wrong.</summary>
    private static string? Open(string encrypted, string token, string timestamp, string nonce, string signature, byte[] key, string corpId)
    {
        if (!WebhookReading.FixedTimeEquals(signature.ToLowerInvariant(), WeComCrypto.Signature(token, timestamp, nonce, encrypted)))
        {
            return null;
        }

        // A message encrypted for another corp is not ours, even under our key.
        return WeComCrypto.Decrypt(encrypted, key) is { } opened && WebhookReading.FixedTimeEquals(opened.ReceiveId, corpId) ? opened.Message : null;
    }

    private static WebhookVerdict ReadMessage(XElement message)
    {
        var type = message.Element("MsgType")?.Value;
        if (type == "event")
        {
            return new WebhookVerdict.Ignored("an event, not a message");
        }

        if (message.Element("FromUserName")?.Value is not { Length: > 0 } user)
        {
            return WebhookReading.Malformed("message without FromUserName");
        }

        if (type != "text")
        {
            return WebhookReading.NotText(type ?? "none");
        }

        if (message.Element("MsgId")?.Value is not { Length: > 0 } msgId || message.Element("Content")?.Value is not { } content)
        {
            return WebhookReading.Malformed("text message without MsgId or Content");
        }

        return new WebhookVerdict.Accepted(new InboundMessage
        {
            MessageKey = msgId,
            ConversationId = user,
            UserId = user,
            Text = content.Trim(),
            IsGroup = false,
            AddressedToBot = true,
            ReplyTo = new ReplyTarget { ChatId = user, UserId = user },
        });
    }

    /// <summary>
    /// A query value. NOTE: base64 values (echostr) may arrive with a raw '+', which query decoding turns into a space;
    /// base64 holds no spaces, so a space is put back as '+'.
    /// </summary>
    private static string? Query(WebhookRequest request, string name) =>
        request.Query.TryGetValue(name, out var values) && values.Count > 0 && values[0] is { Length: > 0 } value ? value.Replace(' ', '+') : null;

    private static XElement? ParseXml(ReadOnlyMemory<byte> body)
    {
        try
        {
            using var stream = new MemoryStream(body.ToArray(), writable: false);
            using var reader = XmlReader.Create(stream, SafeXml);
            return XDocument.Load(reader).Root;
        }
        catch (XmlException)
        {
            return null;
        }
    }

    public async Task<DeliveryResult> SendAsync(Channel channel, ReplyTarget target, string text, string partKey, CancellationToken cancellationToken)
    {
        if (!long.TryParse(channel.Credential(AgentId), NumberStyles.None, CultureInfo.InvariantCulture, out var agentId))
        {
            return new DeliveryResult.Failed(true, "the channel's agentId is not a number");
        }

        string? rejected = null;
        for (var attempt = 1; ; attempt++)
        {
            var token = await GetTokenAsync(channel, rejected, cancellationToken).ConfigureAwait(false);
            if (token.Token is not { } accessToken)
            {
                return new DeliveryResult.Failed(token.Permanent, "WeCom access_token: " + token.Error);
            }

            var body = new JsonObject
            {
                ["touser"] = target.UserId ?? target.ChatId,
                ["msgtype"] = "text",
                ["agentid"] = agentId,
                ["text"] = new JsonObject { ["content"] = text },
            };
            // NOTE: the token is in the query; PlatformApi never puts the URL in a failure reason.
            using var request = PlatformApi.Post(
                PlatformApi.Join(channel.ApiBaseUrl, "cgi-bin/message/send?access_token=" + Uri.EscapeDataString(accessToken)), body);
            var (answer, failure) = await PlatformApi.SendAsync(http.Client, request, Name, cancellationToken).ConfigureAwait(false);
            if (answer is null)
            {
                return failure!;
            }

            var code = answer.Json() is { } json ? JsonFields.GetInt64(json, "errcode") : null;
            if (code is { } c && TokenInvalid.Contains(c) && attempt == 1)
            {
                rejected = accessToken;
                continue;
            }

            return code switch
            {
                0 when answer.Status == HttpStatusCode.OK => new DeliveryResult.Delivered(),
                { } limited when RateLimited.Contains(limited) => new DeliveryResult.RetryAfter(RateLimitDelay),
                SystemBusy => new DeliveryResult.Failed(false, "WeCom API is busy (errcode -1)"),
                _ when answer.Status == HttpStatusCode.TooManyRequests || (int)answer.Status >= 500 => PlatformApi.FromStatus(answer, Name),
                { } error => new DeliveryResult.Failed(true, $"WeCom API errcode {error}"),
                null when answer.Status == HttpStatusCode.OK => new DeliveryResult.Failed(false, "WeCom API answered without an errcode"),
                null => PlatformApi.FromStatus(answer, Name),
            };
        }
    }

    private ValueTask<PlatformTokenResult> GetTokenAsync(Channel channel, string? rejected, CancellationToken cancellationToken)
    {
        var corpId = channel.Credential(CorpId) ?? "";
        var secret = channel.Credential(CorpSecret) ?? "";
        return tokens.GetAsync(channel, corpId + "\n" + secret, token => FetchTokenAsync(channel.ApiBaseUrl, corpId, secret, token), cancellationToken, rejected);
    }

    private async Task<TokenFetch> FetchTokenAsync(Uri baseUrl, string corpId, string secret, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, PlatformApi.Join(baseUrl,
            "cgi-bin/gettoken?corpid=" + Uri.EscapeDataString(corpId) + "&corpsecret=" + Uri.EscapeDataString(secret)));
        var (answer, failure) = await PlatformApi.SendAsync(http.Client, request, Name, cancellationToken).ConfigureAwait(false);
        if (answer is null)
        {
            return TokenFetch.Failed(failure!.Reason, false);
        }

        var json = answer.Json();
        if (json is { } ok && JsonFields.GetInt64(ok, "errcode") is 0 or null && JsonFields.GetString(ok, "access_token") is { Length: > 0 } token)
        {
            return TokenFetch.Issued(token, TimeSpan.FromSeconds(JsonFields.GetInt64(ok, "expires_in") ?? 7200));
        }

        var code = json is { } error ? JsonFields.GetInt64(error, "errcode") : null;
        return (int)answer.Status >= 500 || code == SystemBusy
            ? TokenFetch.Failed($"gettoken answered {(int)answer.Status} errcode {code}", false)
            : TokenFetch.Failed($"gettoken answered {(int)answer.Status} errcode {code}", true);
    }
}
