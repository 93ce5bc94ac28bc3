namespace Serverless.Webhooks.Notifications;

/// <summary>
/// One notification, before it is addressed to a target: the event (<c>account</c>, <c>quota</c>, <c>test</c>), a key
/// that names the occurrence (the queue's message id, so a second send of it is dropped), short human text and the
/// event's fields as data (never a secret).
/// </summary>
internal sealed record NotificationMessage(string Event, string Key, string Text, IReadOnlyDictionary<string, string> Fields, DateTimeOffset At)
{
    /// <summary>Longer texts are cut: every target type takes this much in one message.</summary>
    public const int MaxTextLength = 2000;
}
