namespace Serverless.Relay.Formats.Sse;

/// <summary>One server-sent event as received: the optional <c>event:</c> name and the joined <c>data:</c> lines.</summary>
internal readonly record struct SseEvent(string? Event, string Data);
