using System.Text;
using Serverless.Relay.Providers;

namespace Serverless.Relay.Accounts;

/// <summary>One pooled upstream account, with its API key decrypted (held in memory only).</summary>
internal sealed record UpstreamAccount
{
    public required string Id { get; init; }

    public required string Name { get; init; }

    public required ProviderKind Provider { get; init; }

    /// <summary>Overrides the provider's default endpoint; required for azure-openai and openai-compatible.</summary>
    public string? BaseUrl { get; init; }

    /// <summary>The <c>api-version</c> query value, for azure-openai.</summary>
    public string? ApiVersion { get; init; }

    /// <summary>Model patterns (see <see cref="ModelPattern"/>) this account serves.</summary>
    public IReadOnlyList<string> Models { get; init; } = [];

    /// <summary>Requested model name → the name sent upstream (e.g. an Azure deployment name). Keys ignore case.</summary>
    public IReadOnlyDictionary<string, string> ModelMap { get; init; } = EmptyMap;

    /// <summary>Higher is tried first; the directory's snapshot is sorted by it, descending.</summary>
    public int Priority { get; init; }

    public bool Enabled { get; init; } = true;

    /// <summary>Inside a priority tier, after in-flight counts, a higher weight is tried first; weighted groups pick by it. 1 to 1000.</summary>
    public int Weight { get; init; } = 1;

    /// <summary>At most this many requests in flight on this account per instance; null means no cap.</summary>
    public int? MaxConcurrency { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>The decrypted upstream key; null when the account has none (e.g. a local Ollama).</summary>
    public string? ApiKey { get; init; }

    /// <summary>Set when the account authenticates with OAuth tokens instead of an API key.</summary>
    public OAuthSettings? OAuth { get; init; }

    /// <summary>
    /// The OAuth access token for one upstream call, set on a copy right before it (never on the shared snapshot);
    /// providers send it as a bearer token instead of the API key.
    /// </summary>
    public string? AccessToken { get; init; }

    private static readonly IReadOnlyDictionary<string, string> EmptyMap = new Dictionary<string, string>();

    /// <summary>True when a pattern of <see cref="Models"/> matches, or <see cref="ModelMap"/> names the model. Ignores <see cref="Enabled"/>.</summary>
    public bool Serves(string model)
    {
        foreach (var pattern in Models)
        {
            if (ModelPattern.IsMatch(pattern, model))
            {
                return true;
            }
        }

        return FindMapped(model) is not null;
    }

    /// <summary>The model name to send upstream: the <see cref="ModelMap"/> entry, or the requested name itself.</summary>
    public string UpstreamModelFor(string requestedModel) => FindMapped(requestedModel) ?? requestedModel;

    private string? FindMapped(string model)
    {
        if (ModelMap.TryGetValue(model, out var mapped))
        {
            return mapped;
        }

        // The map may have been built with an ordinal comparer (not from storage); still ignore case.
        foreach (var (requested, upstream) in ModelMap)
        {
            if (string.Equals(requested, model, StringComparison.OrdinalIgnoreCase))
            {
                return upstream;
            }
        }

        return null;
    }

    // NOTE: records print every property; keep the decrypted key out of ToString (and so out of any log or exception).
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Id = ").Append(Id)
            .Append(", Name = ").Append(Name)
            .Append(", Provider = ").Append(Provider.WireName())
            .Append(", BaseUrl = ").Append(BaseUrl)
            .Append(", Priority = ").Append(Priority)
            .Append(", Enabled = ").Append(Enabled)
            .Append(", Weight = ").Append(Weight)
            .Append(", ApiKey = ").Append(ApiKey is null ? "null" : "***")
            .Append(", AccessToken = ").Append(AccessToken is null ? "null" : "***");
        return true;
    }
}

/// <summary>The upstream accounts, as a snapshot shared by all requests.</summary>
internal interface IAccountDirectory
{
    /// <summary>Every account, disabled ones included, sorted by <see cref="UpstreamAccount.Priority"/> descending.</summary>
    ValueTask<IReadOnlyList<UpstreamAccount>> GetAllAsync(CancellationToken cancellationToken);
}
