using Serverless.Webhooks.Channels;

namespace Serverless.Webhooks.Platforms;

/// <summary>The registered platform adapters, by platform and by the URL name of <c>/webhooks/{platform}/{channelId}</c>.</summary>
internal sealed class ImPlatforms(IEnumerable<IImPlatform> platforms)
{
    private readonly Dictionary<ImPlatform, IImPlatform> _byPlatform = platforms.ToDictionary(p => p.Platform);

    public IImPlatform this[ImPlatform platform] => _byPlatform[platform];

    /// <summary>The adapter a URL segment names, or null.</summary>
    public IImPlatform? Find(string? wireName) =>
        ChannelPlatforms.TryParse(wireName, out var platform) && _byPlatform.TryGetValue(platform.Platform, out var found) ? found : null;
}
