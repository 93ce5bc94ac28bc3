using Serverless.Relay.Telemetry;

namespace Serverless.Relay.Accounts;

/// <summary>Counts every health transition <see cref="AccountHealth"/> raises, by the status the account moved to.</summary>
internal sealed class AccountHealthMetrics(RelayMetrics metrics) : IAccountEventSink
{
    public void Raise(AccountEvent accountEvent) => metrics.AccountHealthChanged(accountEvent.Status.WireName());
}
