using System.Diagnostics.CodeAnalysis;

namespace Serverless.Webhooks.Channels;

/// <summary>What the admin API and the store need to know of each platform: its URL name, API origin and credential names.</summary>
internal sealed record ChannelPlatform(ImPlatform Platform, string WireName, Uri DefaultApiBaseUrl, IReadOnlyList<string> RequiredCredentials, IReadOnlyList<string> OptionalCredentials)
{
    public bool Accepts(string credential) => RequiredCredentials.Contains(credential, StringComparer.Ordinal) || OptionalCredentials.Contains(credential, StringComparer.Ordinal);
}

/// <summary>
/// The five platforms' names, default API origins and credential names (issue 9). The <c>IImPlatform</c>
/// implementations answer <c>DefaultApiBaseUrl</c> and the credential lists from here, so there is one table.
/// </summary>
internal static class ChannelPlatforms
{
    /// <summary>WeCom's EncodingAESKey is 43 base64 characters (a 32-byte AES key without its '=').</summary>
    public const int WeComEncodingAesKeyLength = 43;

    public static readonly ChannelPlatform Telegram = new(ImPlatform.Telegram, "telegram", new Uri("https://api.telegram.org"), ["botToken", "secretToken"], ["botUsername"]);

    public static readonly ChannelPlatform Slack = new(ImPlatform.Slack, "slack", new Uri("https://slack.com/api"), ["botToken", "signingSecret"], []);

    /// <summary>Lark channels set <c>apiBaseUrl</c> to <c>https://open.larksuite.com</c>.</summary>
    public static readonly ChannelPlatform Feishu = new(ImPlatform.Feishu, "feishu", new Uri("https://open.feishu.cn"), ["appId", "appSecret", "verificationToken"], ["encryptKey"]);

    /// <summary>
    /// NOTE: <c>oapi.dingtalk.com</c>, not <c>api.dingtalk.com</c>: DingTalk hands out session webhooks as
    /// <c>https://oapi.dingtalk.com/robot/sendBySession?session=…</c>, and a reply goes only to a session webhook on the
    /// channel's API origin. The same origin serves the access token (<c>/gettoken?appkey=&amp;appsecret=</c>).
    /// </summary>
    public static readonly ChannelPlatform DingTalk = new(ImPlatform.DingTalk, "dingtalk", new Uri("https://oapi.dingtalk.com"), ["appKey", "appSecret"], []);

    public static readonly ChannelPlatform WeCom = new(ImPlatform.WeCom, "wecom", new Uri("https://qyapi.weixin.qq.com"), ["corpId", "corpSecret", "agentId", "token", "encodingAesKey"], []);

    public static readonly IReadOnlyList<ChannelPlatform> All = [Telegram, Slack, Feishu, DingTalk, WeCom];

    public static ChannelPlatform Of(ImPlatform platform) => platform switch
    {
        ImPlatform.Telegram => Telegram,
        ImPlatform.Slack => Slack,
        ImPlatform.Feishu => Feishu,
        ImPlatform.DingTalk => DingTalk,
        ImPlatform.WeCom => WeCom,
        _ => throw new ArgumentOutOfRangeException(nameof(platform), platform, "not a platform"),
    };

    public static string WireName(this ImPlatform platform) => Of(platform).WireName;

    /// <summary>The platform whose URL name is <paramref name="wireName"/> (exact, lower case).</summary>
    public static bool TryParse(string? wireName, [NotNullWhen(true)] out ChannelPlatform? platform)
    {
        platform = All.FirstOrDefault(p => string.Equals(p.WireName, wireName, StringComparison.Ordinal));
        return platform is not null;
    }

    public static string WireNames => string.Join(", ", All.Select(p => p.WireName));
}
