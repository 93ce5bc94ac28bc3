using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Serverless.Relay.Formats.Json;
using Serverless.Webhooks.Channels;

namespace Serverless.Webhooks.Platforms.Telegram;

/// <summary>
/// Telegram Bot API webhooks (<see href="https://core.telegram.org/bots/api#update"/>): the secret given to
/// <c>setWebhook</c> comes back in <c>X-Telegram-Bot-Api-Secret-Token</c>; the dedup key is <c>update_id</c>. Only new
/// text messages are answered (edits, channel posts and media are ignored). In groups the bot answers a mention of its
/// username (the optional <c>botUsername</c> credential) or a reply to one of its messages; the bot's own id is the
/// number before the colon of its token.
/// </summary>
internal sealed class TelegramPlatform(PlatformHttp http) : IImPlatform
{
    public const string BotToken = "botToken";
    public const string SecretToken = "secretToken";
    public const string BotUsername = "botUsername";
    private const string SecretHeader = "X-Telegram-Bot-Api-Secret-Token";
    private const string Name = "Telegram";

    public ImPlatform Platform => ImPlatform.Telegram;

    /// <summary>sendMessage's limit: 4096 characters (UTF-16 code units, as Telegram counts entity offsets).</summary>
    public int MaxTextLength => 4096;

    public int MeasureText(string text) => text.Length;

    public WebhookVerdict Read(Channel channel, WebhookRequest request, DateTimeOffset now)
    {
        // :: Step 1: the secret token, compared in constant time.
        if (channel.Credential(SecretToken) is not { Length: > 0 } secret
            || !WebhookReading.FixedTimeEquals(WebhookReading.Header(request, SecretHeader), secret))
        {
            return WebhookReading.BadSignature;
        }

        // :: Step 2: the Update.
        using var document = WebhookReading.ParseObject(request.Body);
        if (document is null || JsonFields.GetInt64(document.RootElement, "update_id") is not { } updateId)
        {
            return WebhookReading.Malformed("not a Telegram Update");
        }

        if (!JsonFields.TryGetPresent(document.RootElement, "message", out var message) || message.ValueKind != JsonValueKind.Object)
        {
            return new WebhookVerdict.Ignored("not a new message");
        }

        return ReadMessage(channel, updateId, message);
    }

    private static WebhookVerdict ReadMessage(Channel channel, long updateId, JsonElement message)
    {
        if (!JsonFields.TryGetPresent(message, "chat", out var chat) || JsonFields.GetInt64(chat, "id") is not { } chatId
            || JsonFields.GetInt64(message, "message_id") is not { } messageId)
        {
            return WebhookReading.Malformed("message without chat.id or message_id");
        }

        if (!JsonFields.TryGetPresent(message, "from", out var from) || JsonFields.GetInt64(from, "id") is not { } userId)
        {
            return new WebhookVerdict.Ignored("no sender (anonymous or channel post)");
        }

        if (IsBot(from))
        {
            return new WebhookVerdict.Ignored("sent by a bot");
        }

        if (JsonFields.GetString(message, "text") is not { } text)
        {
            return WebhookReading.NotText("media or service message");
        }

        // :: Step 3: addressed to the bot? Strip its mentions from the text.
        var isGroup = JsonFields.GetString(chat, "type") is not "private";
        var botId = BotIdOf(channel.Credential(BotToken));
        var username = channel.Credential(BotUsername)?.TrimStart('@');
        var (stripped, mentioned) = StripMentions(text, message, username, botId);
        var repliedToBot = JsonFields.TryGetPresent(message, "reply_to_message", out var replied)
            && JsonFields.TryGetPresent(replied, "from", out var repliedFrom)
            && IsBot(repliedFrom)
            && (botId is null || JsonFields.GetInt64(repliedFrom, "id") == botId);

        // NOTE: message_thread_id is a forum topic only when is_topic_message; in other supergroups it names a reply
        // chain, and sending into it is refused, so the conversation is the topic or the chat.
        var topic = JsonFields.TryGetPresent(message, "is_topic_message", out var isTopic) && isTopic.ValueKind == JsonValueKind.True
            ? JsonFields.GetInt64(message, "message_thread_id")
            : null;
        var chatText = chatId.ToString(CultureInfo.InvariantCulture);
        var topicText = topic?.ToString(CultureInfo.InvariantCulture);
        return new WebhookVerdict.Accepted(new InboundMessage
        {
            MessageKey = updateId.ToString(CultureInfo.InvariantCulture),
            ConversationId = topicText is null ? chatText : chatText + ":" + topicText,
            UserId = userId.ToString(CultureInfo.InvariantCulture),
            Text = stripped,
            IsGroup = isGroup,
            AddressedToBot = !isGroup || mentioned || repliedToBot,
            ReplyTo = new ReplyTarget
            {
                ChatId = chatText,
                MessageId = messageId.ToString(CultureInfo.InvariantCulture),
                ThreadId = topicText,
                UserId = userId.ToString(CultureInfo.InvariantCulture),
            },
        });
    }

    /// <summary>
    /// Removes the bot's mentions (<c>@botname</c>, a text_mention of its id, the <c>@botname</c> suffix of a command)
    /// using the message's entities, whose offsets count UTF-16 code units as .NET strings do.
    /// </summary>
    private static (string Text, bool Mentioned) StripMentions(string text, JsonElement message, string? username, long? botId)
    {
        if (!JsonFields.TryGetPresent(message, "entities", out var entities) || entities.ValueKind != JsonValueKind.Array)
        {
            return (text.Trim(), false);
        }

        var cuts = new List<(int Offset, int Length)>();
        foreach (var entity in entities.EnumerateArray())
        {
            if (JsonFields.GetInt64(entity, "offset") is not { } offset || JsonFields.GetInt64(entity, "length") is not { } length
                || offset < 0 || length <= 0 || offset + length > text.Length)
            {
                continue;
            }

            var span = text.Substring((int)offset, (int)length);
            switch (JsonFields.GetString(entity, "type"))
            {
                case "mention" when username is { Length: > 0 } && span.Equals("@" + username, StringComparison.OrdinalIgnoreCase):
                    cuts.Add(((int)offset, (int)length));
                    break;
                case "text_mention" when botId is not null && JsonFields.TryGetPresent(entity, "user", out var user) && JsonFields.GetInt64(user, "id") == botId:
                    cuts.Add(((int)offset, (int)length));
                    break;
                case "bot_command" when username is { Length: > 0 } && span.EndsWith("@" + username, StringComparison.OrdinalIgnoreCase):
                    // "/new@mybot" → "/new": the command stays, addressed to us.
                    cuts.Add(((int)offset + span.Length - username.Length - 1, username.Length + 1));
                    break;
            }
        }

        var result = text;
        foreach (var (offset, length) in cuts.OrderByDescending(c => c.Offset))
        {
            result = result.Remove(offset, length);
        }

        return (result.Trim(), cuts.Count > 0);
    }

    private static bool IsBot(JsonElement user) => JsonFields.TryGetPresent(user, "is_bot", out var isBot) && isBot.ValueKind == JsonValueKind.True;

    /// <summary>A bot token is <c>&lt;bot id&gt;:&lt;secret&gt;</c>.</summary>
    private static long? BotIdOf(string? token)
    {
        var colon = token?.IndexOf(':', StringComparison.Ordinal) ?? -1;
        return colon > 0 && long.TryParse(token.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : null;
    }

    public async Task<DeliveryResult> SendAsync(Channel channel, ReplyTarget target, string text, string partKey, CancellationToken cancellationToken)
    {
        if (channel.Credential(BotToken) is not { Length: > 0 } token)
        {
            return new DeliveryResult.Failed(true, "the channel has no botToken");
        }

        var body = new JsonObject
        {
            ["chat_id"] = long.TryParse(target.ChatId, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var chatId) ? chatId : target.ChatId,
            ["text"] = text,
        };
        if (target.MessageId is { } replyTo && long.TryParse(replyTo, NumberStyles.None, CultureInfo.InvariantCulture, out var replyId))
        {
            // allow_sending_without_reply: a deleted question still gets its answer rather than a 400.
            body["reply_parameters"] = new JsonObject { ["message_id"] = replyId, ["allow_sending_without_reply"] = true };
        }

        if (target.ThreadId is { } thread && long.TryParse(thread, NumberStyles.None, CultureInfo.InvariantCulture, out var threadId))
        {
            body["message_thread_id"] = threadId;
        }

        // NOTE: the token is in the URL path; PlatformApi never puts the URL in a failure reason.
        using var request = PlatformApi.Post(PlatformApi.Join(channel.ApiBaseUrl, "bot" + token + "/sendMessage"), body);
        var (answer, failure) = await PlatformApi.SendAsync(http.Client, request, Name, cancellationToken).ConfigureAwait(false);
        if (answer is null)
        {
            return failure!;
        }

        var json = answer.Json();
        if (answer.Status == HttpStatusCode.TooManyRequests)
        {
            var retryAfter = json is { } error && JsonFields.TryGetPresent(error, "parameters", out var parameters) && JsonFields.GetInt64(parameters, "retry_after") is { } seconds
                ? TimeSpan.FromSeconds(seconds)
                : answer.RetryAfter ?? PlatformApi.DefaultRetryAfter;
            return new DeliveryResult.RetryAfter(retryAfter);
        }

        if (answer.Status == HttpStatusCode.OK && !(json is { } ok && JsonFields.TryGetPresent(ok, "ok", out var flag) && flag.ValueKind == JsonValueKind.True))
        {
            return new DeliveryResult.Failed(false, "Telegram API answered 200 without ok:true");
        }

        return PlatformApi.FromStatus(answer, Name);
    }
}
