using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Serverless.Relay.Audit;
using Serverless.Relay.Canonical;
using Serverless.Relay.Keys;

namespace Serverless.Relay.Relaying;

/// <summary>
/// One request to relay, built once before anything is sent: who asks (<see cref="Key"/>), through which client API,
/// what (the canonical <see cref="Chat"/> and, from an HTTP client, the raw <see cref="Body"/> for a same-format
/// passthrough), and the few client hints the relay honours (stream framing, session id, forwarded headers).
/// Built from HTTP by <see cref="RelayRequestReader"/>, or in code with <see cref="Create"/>.
/// </summary>
/// <remarks>
/// Owns the client's body and the document parsed from it: the document reads the body's pooled buffer in place and
/// the canonical request may point into the document (tool schemas), so both live until the request is disposed, the
/// document first; only then does the buffer go back to the pool and its bytes back to <see cref="InFlightBodies"/>.
/// </remarks>
internal sealed class RelayRequest : IDisposable
{
    private readonly RequestBody? _body;
    private readonly JsonDocument? _document;

    internal RelayRequest(ClientKey key, ClientApi api, ChatRequest chat, RequestBody? body, JsonDocument? document)
    {
        Key = key;
        Api = api;
        Chat = chat;
        _body = body;
        _document = document;
    }

    public ClientKey Key { get; }

    public ClientApi Api { get; }

    public ChatRequest Chat { get; }

    /// <summary>The client's bytes as they came; empty for a request built in code (which is then always translated).</summary>
    public ReadOnlyMemory<byte> Body => _body?.Memory ?? default;

    public StreamFraming Framing { get; init; }

    /// <summary>A session id the client sent outside the canonical request (header or <c>prompt_cache_key</c>); see <see cref="Sessions.SessionKey"/>.</summary>
    public string? SessionHint { get; init; }

    /// <summary>Who sent it, for the audit row: the client's IP address, or what an in-process caller names itself.</summary>
    public string? ClientAddress { get; init; }

    /// <summary>
    /// What the caller asks the audit trail to keep beyond the key's own setting (an IM channel's <c>audit</c>); the
    /// stricter of the two applies.
    /// </summary>
    public AuditMode Audit { get; init; }

    /// <summary>The client's headers, for the provider to copy what it understands (<see cref="Providers.IProvider.ForwardClientHeaders"/>); null in process.</summary>
    public IHeaderDictionary? ClientHeaders { get; init; }

    /// <summary>
    /// A request built in code, for an in-process caller (<see cref="IRelay"/>): no HTTP, no raw body. It is metered,
    /// limited and scheduled exactly like an HTTP client's request through <paramref name="api"/> (default
    /// <see cref="ClientApis.InProcess"/>).
    /// </summary>
    /// <param name="sessionId">Keeps a conversation on one account, like the <c>x-session-id</c> header.</param>
    /// <param name="audit">What the audit trail keeps beyond the key's own setting.</param>
    /// <param name="clientAddress">Who the audit row names as the client.</param>
    public static RelayRequest Create(ClientKey key, ChatRequest chat, ClientApi? api = null, string? sessionId = null, AuditMode audit = AuditMode.Hashes, string? clientAddress = null) =>
        new(key, api ?? ClientApis.InProcess, chat, default, null)
        {
            SessionHint = sessionId is null ? null : "h:" + sessionId,
            Audit = audit,
            ClientAddress = clientAddress,
        };

    public void Dispose()
    {
        _document?.Dispose();
        _body?.Dispose();
    }
}
