using Microsoft.Extensions.Logging;
using Serverless.Relay.Accounts;
using Serverless.Relay.Functions;
using Serverless.Relay.OAuth;

namespace Serverless.Jobs.RefreshTokens;

/// <summary>
/// Timer (every 5 minutes): refreshes every OAuth token that expires within <see cref="OAuthOptions.SweepWindow"/>, so
/// requests rarely wait for a refresh. A failed refresh marks the account (an event) and does not fail the run: the
/// other accounts still get theirs, and a host retry would not help.
/// </summary>
internal sealed partial class RefreshTokensFunction(OAuthTokens tokens, AccountHealth health, ILogger<RefreshTokensFunction> logger) : ITimerFunction
{
    public const string FunctionName = "RefreshTokens";

    public string Name => FunctionName;

    public async Task RunAsync(TimerInfo timer, CancellationToken cancellationToken)
    {
        var results = await tokens.SweepAsync(cancellationToken).ConfigureAwait(false);
        var failed = 0;
        foreach (var (accountId, result) in results)
        {
            if (!result.IsSuccess)
            {
                failed++;
                health.ReportFailure(accountId, FailureKind.TokenRefreshFailed, result.Error ?? "token refresh failed");
            }
        }

        Log.Swept(logger, results.Count, failed, timer.IsPastDue);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "RefreshTokens: {Count} tokens due, {Failed} failed (past due: {PastDue})")]
        public static partial void Swept(ILogger logger, int count, int failed, bool pastDue);
    }
}
