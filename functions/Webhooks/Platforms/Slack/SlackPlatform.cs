using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Serverless.Relay.Formats.Json;
using Serverless.Webhooks.Channels;

namespace Serverless.Webhooks.Platforms.Slack;

/// <summary>
/// Slack Events API (<see href="https://api.slack.com/apis/events-api"/>): signed requests, <c>url_verification</c>
/// answered with the challenge, <c>event_callback</c> deduplicated on <c>event_id</c>. The bot answers
/// <c>app_mention</c> events in channels (in the thread, which is the conversation) and <c>message</c> events in DMs
/// (channel_type <c>im</c>, the DM is the conversation). A channel <c>message</c> is accepted but not addressed: when
/// it mentions the bot, the <c>app_mention</c> Slack sends alongside is the one answered.
/// </summary>
internal sealed partial class SlackPlatform(PlatformHttp http) : IImPlatform
{
    public const string BotToken = "botToken";
    public const string SigningSecret = "signingSecret";
    private const string Name = "Slack";

    /// <summary>Web API errors worth another try; every other error code is permanent (bad token, channel gone, not a member).</summary>
    private static readonly HashSet<string> TransientErrors = ["internal_error", "fatal_error", "service_unavailable", "request_timeout"];

    public ImPlatform Platform => ImPlatform.Slack;

    /// <summary>chat.postMessage truncates past 40 000 characters and advises at most 4000 for readability.</summary>
    public int MaxTextLength => 4000;

    /// <summary>The length Slack gets: the text with its control characters escaped.</summary>
    public int MeasureText(string text) => SlackText.Escape(text).Length;

    public WebhookVerdict Read(Channel channel, WebhookRequest request, DateTimeOffset now)
    {
        // :: Step 1: the signature over the raw body and a fresh timestamp.
        var reason = channel.Credential(SigningSecret) is { Length: > 0 } secret
            ? SlackSignature.Check(secret, WebhookReading.Header(request, "X-Slack-Request-Timestamp"), WebhookReading.Header(request, "X-Slack-Signature"), request.Body.Span, now)
            : "the channel has no signingSecret";
        if (reason is not null)
        {
            return new WebhookVerdict.Refused(401, "Slack signature: " + reason);
        }

        // :: Step 2: the envelope.
        using var document = WebhookReading.ParseObject(request.Body);
        if (document is null)
        {
            return WebhookReading.Malformed("not a JSON Slack event");
        }

        var root = document.RootElement;
        switch (JsonFields.GetString(root, "type"))
        {
            case "url_verification" when JsonFields.GetString(root, "challenge") is { } challenge:
                return new WebhookVerdict.Challenge("text/plain", challenge);
            case "event_callback":
                break;
            case null:
                return WebhookReading.Malformed("Slack event without type");
            default:
                return new WebhookVerdict.Ignored("not an event callback");
        }

        if (JsonFields.GetString(root, "event_id") is not { } eventId || !JsonFields.TryGetPresent(root, "event", out var ev) || ev.ValueKind != JsonValueKind.Object)
        {
            return WebhookReading.Malformed("event_callback without event_id or event");
        }

        return ReadEvent(root, eventId, ev);
    }

    private static WebhookVerdict ReadEvent(JsonElement root, string eventId, JsonElement ev)
    {
        var type = JsonFields.GetString(ev, "type");
        if (type is not ("message" or "app_mention"))
        {
            return new WebhookVerdict.Ignored($"event type {type} is not handled");
        }

        // NOTE: our own replies come back as message events with bot_id: answering them would loop.
        if (JsonFields.GetString(ev, "bot_id") is not null || JsonFields.GetString(ev, "subtype") is { } subtype && subtype.Length > 0)
        {
            return new WebhookVerdict.Ignored("a bot's message or a message change");
        }

        if (JsonFields.GetString(ev, "channel") is not { } channelId || JsonFields.GetString(ev, "user") is not { } user
            || JsonFields.GetString(ev, "ts") is not { } ts)
        {
            return WebhookReading.Malformed("event without channel, user or ts");
        }

        if (JsonFields.GetString(ev, "text") is not { } text)
        {
            return WebhookReading.NotText(type);
        }

        // DM channel ids start with D; app_mention carries no channel_type.
        var isDm = JsonFields.GetString(ev, "channel_type") is { } channelType ? channelType == "im" : channelId.StartsWith('D');
        var threadTs = JsonFields.GetString(ev, "thread_ts");
        var replyThread = isDm ? threadTs : threadTs ?? ts;
        return new WebhookVerdict.Accepted(new InboundMessage
        {
            MessageKey = eventId,
            ConversationId = replyThread is null ? channelId : channelId + ":" + replyThread,
            UserId = user,
            Text = SlackText.Unescape(StripBotMentions(text, BotUserIds(root), type == "app_mention")),
            IsGroup = !isDm,
            AddressedToBot = isDm || type == "app_mention",
            ReplyTo = new ReplyTarget { ChatId = channelId, MessageId = ts, ThreadId = replyThread, UserId = user },
        });
    }

    /// <summary>The bot users the event was delivered to (<c>authorizations[].user_id</c> where <c>is_bot</c>).</summary>
    private static HashSet<string> BotUserIds(JsonElement root)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        if (JsonFields.TryGetPresent(root, "authorizations", out var authorizations) && authorizations.ValueKind == JsonValueKind.Array)
        {
            foreach (var authorization in authorizations.EnumerateArray())
            {
                if (JsonFields.TryGetPresent(authorization, "is_bot", out var isBot) && isBot.ValueKind == JsonValueKind.True
                    && JsonFields.GetString(authorization, "user_id") is { } id)
                {
                    ids.Add(id);
                }
            }
        }

        return ids;
    }

    /// <summary>Removes <c>&lt;@U…&gt;</c> mentions of the bot; without authorizations, the leading mention of an app_mention (the one that addressed us).</summary>
    private static string StripBotMentions(string text, HashSet<string> botIds, bool isAppMention)
    {
        if (botIds.Count > 0)
        {
            return Mention().Replace(text, m => botIds.Contains(m.Groups["id"].Value) ? "" : m.Value).Trim();
        }

        return (isAppMention ? LeadingMention().Replace(text, "", 1) : text).Trim();
    }

    [GeneratedRegex(@"<@(?<id>[UW][A-Z0-9]+)(\|[^>]*)?>")]
    private static partial Regex Mention();

    [GeneratedRegex(@"^\s*<@[UW][A-Z0-9]+(\|[^>]*)?>")]
    private static partial Regex LeadingMention();

    public async Task<DeliveryResult> SendAsync(Channel channel, ReplyTarget target, string text, string partKey, CancellationToken cancellationToken)
    {
        if (channel.Credential(BotToken) is not { Length: > 0 } token)
        {
            return new DeliveryResult.Failed(true, "the channel has no botToken");
        }

        var body = new JsonObject { ["channel"] = target.ChatId, ["text"] = SlackText.Escape(text) };
        if (target.ThreadId is { } thread)
        {
            body["thread_ts"] = thread;
        }

        using var request = PlatformApi.Post(PlatformApi.Join(channel.ApiBaseUrl, "chat.postMessage"), body, token);
        var (answer, failure) = await PlatformApi.SendAsync(http.Client, request, Name, cancellationToken).ConfigureAwait(false);
        if (answer is null)
        {
            return failure!;
        }

        // Slack answers most errors with 200 and {"ok":false,"error":code}.
        if (answer.Status == HttpStatusCode.OK && answer.Json() is { } json)
        {
            if (JsonFields.TryGetPresent(json, "ok", out var ok) && ok.ValueKind == JsonValueKind.True)
            {
                return new DeliveryResult.Delivered();
            }

            var error = JsonFields.GetString(json, "error") ?? "unknown_error";
            return error switch
            {
                "ratelimited" => new DeliveryResult.RetryAfter(answer.RetryAfter ?? PlatformApi.DefaultRetryAfter),
                _ when TransientErrors.Contains(error) => new DeliveryResult.Failed(false, "Slack API error " + error),
                _ => new DeliveryResult.Failed(true, "Slack API error " + error),
            };
        }

        return PlatformApi.FromStatus(answer, Name);
    }
}
