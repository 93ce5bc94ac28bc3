using Serverless.Relay.Accounts;
using Serverless.Relay.Formats;
using Serverless.Relay.Providers;

namespace Serverless.Relay.Relaying;

/// <summary>What an upstream call is for.</summary>
internal enum UpstreamOperation
{
    Chat,
    CountTokens,

    /// <summary>OpenAI Responses' <c>responses/compact</c>: the client's bytes to an upstream that speaks Responses, answered whole.</summary>
    Compact,
}

/// <summary>
/// One attempt's upstream request, resolved once: the provider, the format it is spoken to in, whether that is the
/// client's own format (then bytes pass through), and the authorized message ready to send (YARP's transformed
/// <c>HttpRequestMessage</c>). Disposing it disposes the message.
/// </summary>
internal sealed class UpstreamCall : IDisposable
{
    private UpstreamCall(IProvider provider, IChatFormat format, bool passthrough, HttpRequestMessage message)
    {
        Provider = provider;
        Format = format;
        Passthrough = passthrough;
        Message = message;
    }

    public IProvider Provider { get; }

    public IChatFormat Format { get; }

    /// <summary>The upstream speaks the client's format: its answer and errors are relayed as they come.</summary>
    public bool Passthrough { get; }

    public HttpRequestMessage Message { get; }

    /// <summary>
    /// Resolves the call for <paramref name="account"/> (credentials already fresh). Null for a token count the
    /// account cannot answer natively (another format, or no count endpoint): the relay estimates instead; and for a
    /// compaction it cannot do, which the forwarder never plans.
    /// </summary>
    public static UpstreamCall? Resolve(RelayRequest request, UpstreamAccount account, string upstreamModel, UpstreamOperation operation)
    {
        var provider = ProviderRegistry.For(account.Provider);
        var clientFormat = request.Api.Format.Format;
        var format = provider.UpstreamFormat(clientFormat);
        var passthrough = format.Format == clientFormat;
        Uri endpoint;
        if (operation == UpstreamOperation.CountTokens)
        {
            if (!passthrough || request.Body.IsEmpty || provider.CountTokensEndpoint(account, upstreamModel) is not { } countEndpoint)
            {
                return null;
            }

            endpoint = countEndpoint;
        }
        else if (operation == UpstreamOperation.Compact)
        {
            if (!passthrough || request.Body.IsEmpty || provider.CompactEndpoint(account) is not { } compactEndpoint)
            {
                return null;
            }

            endpoint = compactEndpoint;
        }
        else
        {
            endpoint = provider.ChatEndpoint(account, format, upstreamModel, request.Head.Stream);
        }

        IUpstreamTransform transform = Translates(request, format) ? TranslatingTransform.Instance : PassthroughTransform.Instance;
        var message = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = transform.CreateContent(request, format, upstreamModel) };
        provider.ForwardClientHeaders(message, request.ClientHeaders);
        provider.Authorize(message, account);
        if (operation == UpstreamOperation.Chat && request.Head.Stream)
        {
            message.Headers.Accept.ParseAdd("text/event-stream");
        }

        return new UpstreamCall(provider, format, passthrough, message);
    }

    /// <summary>
    /// Whether a chat call to any of <paramref name="candidates"/> is written from the canonical request rather than
    /// forwarding the client's bytes, so the request must be read whole before any of them is tried.
    /// </summary>
    public static bool AnyTranslates(RelayRequest request, IReadOnlyList<Candidate> candidates)
    {
        foreach (var candidate in candidates)
        {
            if (!PassesThrough(request, candidate.Account))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether a chat call to <paramref name="account"/> forwards the client's bytes rather than a translation.</summary>
    public static bool PassesThrough(RelayRequest request, UpstreamAccount account) =>
        !Translates(request, ProviderRegistry.For(account.Provider).UpstreamFormat(request.Api.Format.Format));

    /// <summary>
    /// Why a chat call to <paramref name="account"/> cannot carry the request (read whole): a translation of a request
    /// only its own format can serve (<see cref="ChatRequest.Untranslatable"/>), or to a format with no form for one of
    /// its parts. Null when it can, or when the call passes the client's bytes through.
    /// </summary>
    public static RelayError? CannotCarry(RelayRequest request, UpstreamAccount account)
    {
        var format = ProviderRegistry.For(account.Provider).UpstreamFormat(request.Api.Format.Format);
        return Translates(request, format) ? request.Chat.Untranslatable ?? format.CannotCarry(request.Chat) : null;
    }

    /// <summary>
    /// The upstream speaks another format, or the request was built in code and has no bytes to pass through: the
    /// call's body is written from the canonical request.
    /// </summary>
    private static bool Translates(RelayRequest request, IChatFormat upstreamFormat) =>
        upstreamFormat.Format != request.Api.Format.Format || request.Body.IsEmpty;

    /// <summary>Whether a token count for <paramref name="api"/> can be asked of <paramref name="candidate"/>'s upstream.</summary>
    public static bool CountsNatively(ClientApi api, Candidate candidate)
    {
        var provider = ProviderRegistry.For(candidate.Account.Provider);
        return provider.UpstreamFormat(api.Format.Format).Format == api.Format.Format
            && provider.CountTokensEndpoint(candidate.Account, candidate.UpstreamModel) is not null;
    }

    public void Dispose() => Message.Dispose();
}
