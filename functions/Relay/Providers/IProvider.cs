using Microsoft.AspNetCore.Http;
using Serverless.Relay.Accounts;
using Serverless.Relay.Formats;

namespace Serverless.Relay.Providers;

/// <summary>
/// How to reach one vendor: which wire format it speaks for a given client format, where to send it, and how to
/// authenticate. Translation itself lives in the formats; a provider only describes the endpoint.
/// </summary>
internal interface IProvider
{
    ProviderKind Kind { get; }

    /// <summary>The format this vendor is spoken to in, for a client speaking <paramref name="clientFormat"/>.</summary>
    IChatFormat UpstreamFormat(WireFormat clientFormat);

    /// <summary>The URL of a chat call (generate, or stream when <paramref name="stream"/>).</summary>
    Uri ChatEndpoint(UpstreamAccount account, IChatFormat format, string upstreamModel, bool stream);

    /// <summary>The URL of a native token count, or null when the vendor has none (the relay then estimates).</summary>
    Uri? CountTokensEndpoint(UpstreamAccount account, string upstreamModel);

    /// <summary>
    /// The URL of OpenAI's Responses compaction (<c>responses/compact</c>), or null when the vendor speaks no Responses
    /// API: a compaction has no translation.
    /// </summary>
    Uri? CompactEndpoint(UpstreamAccount account) => null;

    /// <summary>
    /// Copies the client headers this vendor understands and that change what it accepts (Anthropic's version and beta
    /// flags). Called before <see cref="Authorize"/>; <paramref name="clientHeaders"/> is null for an in-process caller.
    /// </summary>
    void ForwardClientHeaders(HttpRequestMessage request, IHeaderDictionary? clientHeaders);

    /// <summary>Adds the account's credentials and the headers the vendor requires (with defaults for any the client did not send).</summary>
    void Authorize(HttpRequestMessage request, UpstreamAccount account);
}
