using Serverless.Relay.Accounts;

namespace Serverless.Relay.Providers;

internal static class ProviderUrls
{
    /// <summary>The account's base URL (or the vendor default) joined with <paramref name="path"/>, with exactly one slash between.</summary>
    public static Uri Join(UpstreamAccount account, string defaultBaseUrl, string path)
    {
        var baseUrl = string.IsNullOrEmpty(account.BaseUrl) ? defaultBaseUrl : account.BaseUrl;
        return new Uri(baseUrl.TrimEnd('/') + "/" + path.TrimStart('/'), UriKind.Absolute);
    }
}
