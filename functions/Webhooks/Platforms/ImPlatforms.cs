using Serverless.Webhooks.Channels;

namespace Serverless.Webhooks.Platforms;

/// <summary>The registered platforms by their URL name (<c>telegram</c>, <c>slack</c>, <c>feishu</c> or <c>lark</c>, <c>dingtalk</c>, <c>wecom</c>).</summary>
internal sealed class ImPlatforms(IEnumerable<IImPlatform> platforms)
{
    private readonly Dictionary<ImPlatform, IImPlatform> _byPlatform = platforms.ToDictionary(p => p.Platform);

    public IImPlatform this[ImPlatform platform] => _byPlatform[platform];

    /// <summary>The platform a URL segment or admin field names, or null.</summary>
    public IImPlatform? Find(string? name) =>
        TryParse(name, out var platform) && _byPlatform.TryGetValue(platform, out var found) ? found : null;

    public static bool TryParse(string? name, out ImPlatform platform)
    {
        switch (name?.ToLowerInvariant())
        {
            case "telegram": platform = ImPlatform.Telegram; return true;
            case "slack": platform = ImPlatform.Slack; return true;
            case "feishu" or "lark": platform = ImPlatform.Feishu; return true;
            case "dingtalk": platform = ImPlatform.DingTalk; return true;
            case "wecom": platform = ImPlatform.WeCom; return true;
            default: platform = default; return false;
        }
    }

    public static string NameOf(ImPlatform platform) => platform.ToString().ToLowerInvariant();
}
