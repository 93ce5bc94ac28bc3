namespace Serverless.Webhooks.Pending;

/// <summary>Where an accepted IM message is: queued → answered → delivered | failed | expired. The last three are final.</summary>
internal enum PendingState
{
    /// <summary>Accepted by the webhook and sent to <c>im-inbound</c>.</summary>
    Queued,

    /// <summary>The reply (or a notice) was produced and sent to <c>im-outbound</c>.</summary>
    Answered,

    /// <summary>The platform took the reply.</summary>
    Delivered,

    /// <summary>The platform refused the reply for good (the reason says why).</summary>
    Failed,

    /// <summary>Not delivered within <see cref="PendingOptions.Ttl"/>: PurgePending gave up on it.</summary>
    Expired,
}

internal static class PendingStates
{
    public static bool IsFinal(this PendingState state) => state is PendingState.Delivered or PendingState.Failed or PendingState.Expired;

    public static string WireName(this PendingState state) => state switch
    {
        PendingState.Queued => "queued",
        PendingState.Answered => "answered",
        PendingState.Delivered => "delivered",
        PendingState.Failed => "failed",
        PendingState.Expired => "expired",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "not a pending state"),
    };

    public static bool TryParse(string? wireName, out PendingState state)
    {
        foreach (var candidate in Enum.GetValues<PendingState>())
        {
            if (string.Equals(candidate.WireName(), wireName, StringComparison.Ordinal))
            {
                state = candidate;
                return true;
            }
        }

        state = default;
        return false;
    }

    /// <summary>
    /// Whether a row in <paramref name="current"/> may become <paramref name="next"/>: forward only, and never out of a
    /// final state. NOTE: a late "answered" after "delivered" (queues redeliver out of order) must not reopen the row,
    /// and an expired row must stay expired even if a slow delivery lands afterwards; the user has had the notice.
    /// </summary>
    public static bool CanMove(PendingState current, PendingState next) => !current.IsFinal() && next > current;

    public static string WireNames => string.Join(", ", Enum.GetValues<PendingState>().Select(s => s.WireName()));
}
