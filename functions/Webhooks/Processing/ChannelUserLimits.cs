using System.Security.Cryptography;
using System.Text;
using Serverless.Relay.Canonical;
using Serverless.Relay.Keys;
using Serverless.Relay.Limits;
using Serverless.Relay.Pricing;
using Serverless.Relay.Relaying;

namespace Serverless.Webhooks.Processing;

/// <summary>
/// A channel's <c>perUserLimits</c>: each IM user of the channel is limited as if they had a key of their own, on the
/// same counters and leases as keys (<see cref="KeyLimiter"/>), so one member of a group cannot spend the whole
/// channel's key. The channel's key still applies its own limits inside the relay.
/// </summary>
internal sealed class ChannelUserLimits(KeyLimiter limiter, PriceBook prices)
{
    /// <summary>A lease for this user, or <see cref="KeyLease.Unlimited"/> when the channel sets no per-user limits.</summary>
    public ValueTask<KeyLease> AcquireAsync(ClientKey channelKey, KeyLimits perUser, string userId, ChatRequest chat, CancellationToken cancellationToken)
    {
        if (perUser.IsEmpty)
        {
            return ValueTask.FromResult(KeyLease.Unlimited);
        }

        var userKey = channelKey with { Id = UserKeyId(channelKey.Id, userId), Limits = perUser, Models = [] };
        return limiter.AcquireAsync(userKey, chat, cancellationToken);
    }

    /// <summary>Charges what the relay used (tokens, cost as priced for the usage row) and releases the lease.</summary>
    public async Task CompleteAsync(KeyLease lease, RelayOutcome outcome, string requestedModel, CancellationToken cancellationToken)
    {
        var table = await prices.GetAsync(cancellationToken).ConfigureAwait(false);
        lease.Complete(outcome.Usage, PriceTable.ChargeMicros(table.CostMicros(outcome.UpstreamModel, requestedModel, outcome.Usage)));
    }

    /// <summary>The counters' id for one user of a key: hashed, so an IM user id never shows in storage keys.</summary>
    internal static string UserKeyId(string keyId, string userId) =>
        keyId + ".u." + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(userId)).AsSpan(0, 12));
}
