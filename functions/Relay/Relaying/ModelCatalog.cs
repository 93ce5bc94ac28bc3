using Serverless.Relay.Accounts;
using Serverless.Relay.Keys;
using Serverless.Relay.Providers;

namespace Serverless.Relay.Relaying;

/// <summary>A model a key may call, with the provider that serves it first.</summary>
internal sealed record ListedModel(string Id, string OwnedBy, DateTimeOffset Created);

/// <summary>
/// The models a key may use: every concrete model name an enabled account serves (its patterns without wildcards and
/// its model-map names) that the key's own patterns allow. Wildcard patterns cannot be listed, only called.
/// </summary>
internal sealed class ModelCatalog(IAccountDirectory directory)
{
    public async ValueTask<IReadOnlyList<ListedModel>> ListAsync(ClientKey key, CancellationToken cancellationToken)
    {
        var accounts = await directory.GetAllAsync(cancellationToken).ConfigureAwait(false);
        var models = new SortedDictionary<string, ListedModel>(StringComparer.Ordinal);
        foreach (var account in accounts)
        {
            if (!account.Enabled)
            {
                continue;
            }

            foreach (var name in account.Models.Concat(account.ModelMap.Keys))
            {
                if (name.Contains('*', StringComparison.Ordinal) || !key.AllowsModel(name) || models.ContainsKey(name))
                {
                    continue;
                }

                models[name] = new ListedModel(name, account.Provider.WireName(), account.CreatedAt);
            }
        }

        return models.Values.ToArray();
    }
}
