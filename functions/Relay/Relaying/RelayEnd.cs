using Serverless.Relay.Accounts;

namespace Serverless.Relay.Relaying;

/// <summary>
/// How relaying an answer or a stream ended: whole (no error); or with an error, and then how to mark the account for
/// it. Before the output started the error is the client's response; after it, the stream's error event or a cut body.
/// </summary>
/// <param name="UpstreamErrorRelayed">The upstream's own error event, already in the client's format, ended the stream.</param>
internal readonly record struct RelayEnd(RelayError? Error, FailureKind? Failure = null, bool UpstreamErrorRelayed = false);
