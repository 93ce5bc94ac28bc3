namespace Serverless.Relay.Functions;

/// <summary>
/// One message a Service Bus trigger hands to a function: the body (always a JSON object's text; the host's double
/// encoding already undone) and the broker properties the app reads. Other metadata the host sends is ignored.
/// </summary>
internal sealed record QueueMessage(string Body, string? MessageId, string? SessionId, int DeliveryCount, DateTimeOffset? EnqueuedTime);

/// <summary>
/// The handler entry point of one Service Bus-triggered function, bound by name to its <c>function.json</c>
/// (<c>serviceBusTrigger</c>, <c>isSessionsEnabled: true</c>). Behind the Functions host it is invoked through the JSON
/// invocation protocol; in local mode the handler plays the trigger over a Storage queue of the same name.
/// Returning completes the message; throwing fails the invocation, so the message is delivered again and, after the
/// queue's max delivery count, dead-lettered.
/// </summary>
internal interface IQueueFunction
{
    string Name { get; }

    Task RunAsync(QueueMessage message, CancellationToken cancellationToken);
}
