using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Serverless.Relay.Formats.Json;
using Serverless.Webhooks.Channels;

namespace Serverless.Webhooks.Platforms.Feishu;

/// <summary>
/// Feishu and Lark (same API, Lark at <c>https://open.larksuite.com</c> through the channel's apiBaseUrl), event schema
/// 2.0. Verification: with an <c>encryptKey</c> the <c>X-Lark-Signature</c> over the raw body, otherwise the
/// verification token in <c>header.token</c> (<c>token</c> in schema 1.0); an encrypted body (<c>{"encrypt":…}</c>) is
/// decrypted first; the url check is answered with its challenge once its token matches. Replies go to the message replied to, with the tenant
/// access token from <see cref="PlatformTokenCache"/> and the part key as <c>uuid</c> (Feishu drops a repeated uuid for 1 h).
/// NOTE: in a group the bot answers when the message mentions anyone: a bot without the "read all group messages"
/// scope only receives messages that mention it, and the event does not say which mention is the bot.
/// </summary>
internal sealed class FeishuPlatform(PlatformHttp http, PlatformTokenCache tokens) : IImPlatform
{
    public const string AppId = "appId";
    public const string AppSecret = "appSecret";
    public const string VerificationToken = "verificationToken";
    public const string EncryptKey = "encryptKey";
    private const string Name = "Feishu";

    /// <summary>Feishu's codes for an access token that is missing, invalid or expired: fetch a new one and send again, once.</summary>
    private static readonly HashSet<long> TokenInvalid = [99991661, 99991663, 99991668];

    /// <summary>Feishu's "too many requests" code (sent with HTTP 400 or 429).</summary>
    private const long RateLimited = 99991400;

    public ImPlatform Platform => ImPlatform.Feishu;

    /// <summary>
    /// Feishu allows 150 KB per text request. The content is JSON inside JSON, so a character can cost up to 6 bytes
    /// (a CJK character is 3 bytes; a quote becomes <c>\\\"</c>): 20 000 characters stays under 150 KB in every case.
    /// </summary>
    public int MaxTextLength => 20_000;

    public int MeasureText(string text) => text.Length;

    public WebhookVerdict Read(Channel channel, WebhookRequest request, DateTimeOffset now)
    {
        var encryptKey = channel.Credential(EncryptKey) is { Length: > 0 } key ? key : null;
        var verificationToken = channel.Credential(VerificationToken) ?? "";

        // :: Step 1: the body, decrypted when Feishu encrypted it.
        using var outer = WebhookReading.ParseObject(request.Body);
        if (outer is null)
        {
            return WebhookReading.Malformed("not a JSON Feishu event");
        }

        JsonDocument? decrypted = null;
        try
        {
            var root = outer.RootElement;
            if (JsonFields.GetString(root, "encrypt") is { } encrypted)
            {
                // Without our key no genuine sender could have encrypted it for us.
                if (encryptKey is null || FeishuCrypto.Decrypt(encrypted, encryptKey) is not { } plain)
                {
                    return new WebhookVerdict.Refused(401, "the encrypted body does not decrypt with the channel's encryptKey");
                }

                decrypted = WebhookReading.ParseObject(Encoding.UTF8.GetBytes(plain));
                if (decrypted is null)
                {
                    return WebhookReading.Malformed("the decrypted Feishu event is not JSON");
                }

                root = decrypted.RootElement;
            }

            // :: Step 2: the url check carries its token in the body (and no signature).
            if (JsonFields.GetString(root, "type") == "url_verification")
            {
                return WebhookReading.FixedTimeEquals(JsonFields.GetString(root, "token"), verificationToken)
                    && JsonFields.GetString(root, "challenge") is { } challenge
                    ? new WebhookVerdict.Challenge("application/json", new JsonObject { ["challenge"] = challenge }.ToJsonString())
                    : WebhookReading.BadSignature;
            }

            // :: Step 3: an event: the signature when there is an encryptKey, else the token (at the root in schema 1.0).
            if (!JsonFields.TryGetPresent(root, "header", out var header) || header.ValueKind != JsonValueKind.Object)
            {
                return IsVerified(request, encryptKey, JsonFields.GetString(root, "token"), verificationToken)
                    ? new WebhookVerdict.Ignored("not a schema 2.0 event")
                    : WebhookReading.BadSignature;
            }

            if (!IsVerified(request, encryptKey, JsonFields.GetString(header, "token"), verificationToken))
            {
                return WebhookReading.BadSignature;
            }

            return ReadEvent(root, header);
        }
        finally
        {
            decrypted?.Dispose();
        }
    }

    private static bool IsVerified(WebhookRequest request, string? encryptKey, string? token, string verificationToken)
    {
        if (encryptKey is null)
        {
            return verificationToken.Length > 0 && WebhookReading.FixedTimeEquals(token, verificationToken);
        }

        var timestamp = WebhookReading.Header(request, "X-Lark-Request-Timestamp");
        var nonce = WebhookReading.Header(request, "X-Lark-Request-Nonce");
        var signature = WebhookReading.Header(request, "X-Lark-Signature");
        return timestamp is not null && nonce is not null && signature is not null
            && WebhookReading.FixedTimeEquals(signature.ToLowerInvariant(), FeishuCrypto.Signature(timestamp, nonce, encryptKey, request.Body.Span));
    }

    private static WebhookVerdict ReadEvent(JsonElement root, JsonElement header)
    {
        if (JsonFields.GetString(header, "event_type") is not "im.message.receive_v1")
        {
            return new WebhookVerdict.Ignored("event type is not im.message.receive_v1");
        }

        if (!JsonFields.TryGetPresent(root, "event", out var ev) || !JsonFields.TryGetPresent(ev, "message", out var message)
            || !JsonFields.TryGetPresent(ev, "sender", out var sender))
        {
            return WebhookReading.Malformed("event without sender or message");
        }

        if (JsonFields.GetString(sender, "sender_type") == "app")
        {
            return new WebhookVerdict.Ignored("sent by an app");
        }

        if (JsonFields.GetString(message, "message_id") is not { } messageId || JsonFields.GetString(message, "chat_id") is not { } chatId
            || !JsonFields.TryGetPresent(sender, "sender_id", out var senderId) || JsonFields.GetString(senderId, "open_id") is not { } openId)
        {
            return WebhookReading.Malformed("message without message_id, chat_id or sender open_id");
        }

        if (JsonFields.GetString(message, "message_type") is var type && type != "text")
        {
            return WebhookReading.NotText(type ?? "none");
        }

        // content is a JSON string holding {"text": "..."}.
        using var content = JsonFields.GetString(message, "content") is { } raw ? WebhookReading.ParseObject(Encoding.UTF8.GetBytes(raw)) : null;
        if (content is null || JsonFields.GetString(content.RootElement, "text") is not { } text)
        {
            return WebhookReading.Malformed("text message whose content is not {\"text\":…}");
        }

        var isGroup = JsonFields.GetString(message, "chat_type") != "p2p";
        var (stripped, mentioned) = ReplaceMentions(text, message);
        var thread = JsonFields.GetString(message, "thread_id");
        // NOTE: keyed on message_id, not event_id: Feishu may push a message again under another event_id ("如有幂等需求
        // 请使用 message_id 去重，不要依赖 event_id"):
        // https://open.feishu.cn/document/uAjLw4CM/ukTMukTMukTM/reference/im-v1/message/events/receive
        return new WebhookVerdict.Accepted(new InboundMessage
        {
            MessageKey = messageId,
            ConversationId = thread is null ? chatId : chatId + ":" + thread,
            UserId = openId,
            Text = stripped,
            IsGroup = isGroup,
            AddressedToBot = !isGroup || mentioned,
            ReplyTo = new ReplyTarget { ChatId = chatId, MessageId = messageId, ThreadId = thread, UserId = openId },
        });
    }

    /// <summary>
    /// Mention placeholders (<c>@_user_1</c>): the ones leading the text (the bot being addressed) are removed, later ones
    /// become <c>@name</c> so the model still reads who was meant.
    /// </summary>
    private static (string Text, bool Mentioned) ReplaceMentions(string text, JsonElement message)
    {
        if (!JsonFields.TryGetPresent(message, "mentions", out var mentions) || mentions.ValueKind != JsonValueKind.Array || mentions.GetArrayLength() == 0)
        {
            return (text.Trim(), false);
        }

        var names = new List<(string Key, string Name)>();
        foreach (var mention in mentions.EnumerateArray())
        {
            if (JsonFields.GetString(mention, "key") is { Length: > 0 } key)
            {
                names.Add((key, JsonFields.GetString(mention, "name") ?? ""));
            }
        }

        // Longest keys first, so @_user_1 does not eat the start of @_user_10.
        names.Sort((a, b) => b.Key.Length.CompareTo(a.Key.Length));
        var result = text.TrimStart();
        var stripping = true;
        while (stripping)
        {
            stripping = false;
            foreach (var (key, _) in names)
            {
                if (result.StartsWith(key, StringComparison.Ordinal))
                {
                    result = result[key.Length..].TrimStart();
                    stripping = true;
                    break;
                }
            }
        }

        foreach (var (key, name) in names)
        {
            result = result.Replace(key, "@" + name, StringComparison.Ordinal);
        }

        return (result.Trim(), true);
    }

    public async Task<DeliveryResult> SendAsync(Channel channel, ReplyTarget target, string text, string partKey, CancellationToken cancellationToken)
    {
        if (target.MessageId is null)
        {
            return new DeliveryResult.Failed(true, "Feishu replies need the message_id replied to");
        }

        string? rejected = null;
        for (var attempt = 1; ; attempt++)
        {
            var token = await GetTokenAsync(channel, rejected, cancellationToken).ConfigureAwait(false);
            if (token.Token is not { } accessToken)
            {
                return new DeliveryResult.Failed(token.Permanent, "Feishu tenant_access_token: " + token.Error);
            }

            var body = new JsonObject
            {
                ["msg_type"] = "text",
                ["content"] = new JsonObject { ["text"] = text }.ToJsonString(),
                ["uuid"] = UuidOf(partKey),
            };
            if (target.ThreadId is not null)
            {
                body["reply_in_thread"] = true;
            }

            using var request = PlatformApi.Post(
                PlatformApi.Join(channel.ApiBaseUrl, "open-apis/im/v1/messages/" + Uri.EscapeDataString(target.MessageId) + "/reply"), body, accessToken);
            var (answer, failure) = await PlatformApi.SendAsync(http.Client, request, Name, cancellationToken).ConfigureAwait(false);
            if (answer is null)
            {
                return failure!;
            }

            var code = answer.Json() is { } json ? JsonFields.GetInt64(json, "code") : null;
            if (code is { } c && TokenInvalid.Contains(c) && attempt == 1)
            {
                rejected = accessToken;
                continue;
            }

            return Classify(code, answer);
        }
    }

    private static DeliveryResult Classify(long? code, ApiAnswer answer) => code switch
    {
        0 when answer.Status == HttpStatusCode.OK => new DeliveryResult.Delivered(),
        RateLimited => new DeliveryResult.RetryAfter(answer.RetryAfter ?? PlatformApi.DefaultRetryAfter),
        _ when answer.Status == HttpStatusCode.TooManyRequests || (int)answer.Status >= 500 => PlatformApi.FromStatus(answer, Name),
        { } error => new DeliveryResult.Failed(true, $"Feishu API code {error}"),
        null when answer.Status == HttpStatusCode.OK => new DeliveryResult.Failed(false, "Feishu API answered without a code"),
        null => PlatformApi.FromStatus(answer, Name),
    };

    /// <summary>Feishu's uuid is at most 50 characters: a longer part key is replaced by its hash (still stable across retries).</summary>
    internal static string UuidOf(string partKey) =>
        partKey.Length <= 50 ? partKey : Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(partKey)))[..48];

    private ValueTask<PlatformTokenResult> GetTokenAsync(Channel channel, string? rejected, CancellationToken cancellationToken)
    {
        var appId = channel.Credential(AppId) ?? "";
        var appSecret = channel.Credential(AppSecret) ?? "";
        return tokens.GetAsync(channel, appId + "\n" + appSecret, token => FetchTokenAsync(channel.ApiBaseUrl, appId, appSecret, token), cancellationToken, rejected);
    }

    private async Task<TokenFetch> FetchTokenAsync(Uri baseUrl, string appId, string appSecret, CancellationToken cancellationToken)
    {
        using var request = PlatformApi.Post(
            PlatformApi.Join(baseUrl, "open-apis/auth/v3/tenant_access_token/internal"),
            new JsonObject { ["app_id"] = appId, ["app_secret"] = appSecret });
        var (answer, failure) = await PlatformApi.SendAsync(http.Client, request, Name, cancellationToken).ConfigureAwait(false);
        if (answer is null)
        {
            return TokenFetch.Failed(failure!.Reason, false);
        }

        var json = answer.Json();
        if (json is { } ok && JsonFields.GetInt64(ok, "code") == 0 && JsonFields.GetString(ok, "tenant_access_token") is { Length: > 0 } token)
        {
            return TokenFetch.Issued(token, TimeSpan.FromSeconds(JsonFields.GetInt64(ok, "expire") ?? 7200));
        }

        // A non-zero code with a 2xx or 4xx is the credentials being refused: permanent. The body may echo the secret: only the code is kept.
        var code = json is { } error ? JsonFields.GetInt64(error, "code") : null;
        return (int)answer.Status >= 500 || answer.Status == HttpStatusCode.TooManyRequests
            ? TokenFetch.Failed($"token endpoint answered {(int)answer.Status}", false)
            : TokenFetch.Failed($"token endpoint answered {(int)answer.Status} code {code}", true);
    }
}
