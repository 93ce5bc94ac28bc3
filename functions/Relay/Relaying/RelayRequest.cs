using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Serverless.Relay.Audit;
using Serverless.Relay.Canonical;
using Serverless.Relay.Keys;
using Serverless.Relay.Limits;

namespace Serverless.Relay.Relaying;

/// <summary>
/// One request to relay, built once before anything is sent: who asks (<see cref="Key"/>), through which client API,
/// what (its <see cref="Head"/>, the canonical request behind <see cref="ReadChat"/> and, from an HTTP client, the raw
/// <see cref="Body"/> for a same-format passthrough), and the few client hints the relay honours (stream framing,
/// session id, forwarded headers). Built from HTTP by <see cref="RelayRequestReader"/>, or in code with <see cref="Create"/>.
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
    private Result<ChatRequest>? _chat;

    /// <param name="chat">The canonical request when it was read up front; else it is read from <paramref name="document"/> on first use.</param>
    internal RelayRequest(ClientKey key, ClientApi api, RequestHead head, Result<ChatRequest>? chat, RequestBody? body, JsonDocument? document)
    {
        Key = key;
        Api = api;
        Head = head;
        _chat = chat;
        _body = body;
        _document = document;
    }

    public ClientKey Key { get; }

    public ClientApi Api { get; }

    /// <summary>What the relay needs of every request: model, stream flags, user.</summary>
    public RequestHead Head { get; }

    /// <summary>
    /// The canonical request, read from the body on first call (then kept): a translation or a token estimate needs
    /// it; a same-format relay of a key without token limits never does. A body that does not read as one is the error
    /// to answer.
    /// </summary>
    public Result<ChatRequest> ReadChat() =>
        _chat ??= Api.Format.ReadRequest(_document!.RootElement, Head);

    /// <summary>
    /// The prompt's estimated tokens, for a token limit: read in place from the body
    /// (<see cref="Formats.IChatFormat.TryTallyPrompt"/>), else (a body the reader could refuse, a request built in code)
    /// counted on the canonical request.
    /// </summary>
    /// <remarks>
    /// NOTE: a body that reads neither way (a part the relay does not model, such as an OpenAI file input) is not
    /// refused here: a same-format upstream gets the client's bytes and judges them, as it does for a key without token
    /// limits. Its estimate is what the tally counted before it stopped; the limit is settled on the upstream's own usage
    /// when the answer comes. A plan that would translate it refuses it before the first attempt (RelayForwarder).
    /// </remarks>
    public int CountPromptTokens(TokenEstimator estimator)
    {
        PromptTally? tally = null;
        if (_chat is null && _document is { } document)
        {
            tally = estimator.Tally();
            if (Api.Format.TryTallyPrompt(document.RootElement, tally))
            {
                return tally.Total;
            }
        }

        return ReadChat().Value is { } chat ? estimator.Count(chat) : tally?.Total ?? 0;
    }

    /// <summary>The canonical request, once <see cref="ReadChat"/> has succeeded.</summary>
    public ChatRequest Chat => ReadChat().Value ?? throw new InvalidOperationException("The request's body did not read as a canonical request; ReadChat's error is the answer.");

    /// <summary>
    /// The canonical request, or one made of the head alone when the body does not read as one (a same-format upstream
    /// accepted what the relay's reader would not): enough for what only describes the request, such as the error
    /// event that ends a relayed stream.
    /// </summary>
    public ChatRequest ChatOrHead() => ReadChat().Value ?? Head.ToBareChat();

    /// <summary>The client's body as parsed JSON, read in place; null for a request built in code.</summary>
    public JsonElement? Json => _document?.RootElement;

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

    /// <summary>Whether the audit trail keeps this request's bodies: the key's or the caller's mode asks for a full audit.</summary>
    public bool KeepsBodies => AuditModes.Max(Key.Audit, Audit) == AuditMode.Full;

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
        new(key, api ?? ClientApis.InProcess, RequestHead.Of(chat), chat, null, null)
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
