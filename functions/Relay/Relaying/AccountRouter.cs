using Serverless.Relay.Accounts;

namespace Serverless.Relay.Relaying;

/// <summary>
/// The accounts that may serve a model right now, in the <see cref="AccountScheduler"/>'s order, for callers that need
/// one account and no failover (token counting).
/// </summary>
internal sealed class AccountRouter(AccountScheduler scheduler)
{
    /// <summary>The candidates in the order to try them; empty when nothing serves <paramref name="model"/> now.</summary>
    public async ValueTask<IReadOnlyList<Candidate>> CandidatesAsync(string model, CancellationToken cancellationToken)
    {
        var plan = await scheduler.PlanAsync(model, null, cancellationToken).ConfigureAwait(false);
        return plan.Candidates;
    }
}
