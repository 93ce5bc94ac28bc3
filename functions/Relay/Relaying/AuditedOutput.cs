using System.Buffers;
using System.Text.Json;
using Serverless.Relay.Audit;
using Serverless.Relay.Formats;
using Serverless.Relay.Limits;

namespace Serverless.Relay.Relaying;

/// <summary>
/// The output of one request as the audit trail sees it: every body byte written to the client passes a SHA-256 on
/// its way (and, for a full audit, into a bounded copy); the request's digest is taken when it starts. Afterwards
/// <see cref="Facts"/> says what the audit row records.
/// </summary>
internal sealed class AuditedOutput : IRelayOutput, IDisposable
{
    private readonly IRelayOutput _inner;
    private readonly DigestingBufferWriter _body;
    private readonly RelayRequest? _request;
    private readonly string? _clientAddress;
    private readonly bool _full;
    private readonly int _maxBodyBytes;

    private AuditedOutput(IRelayOutput inner, RelayRequest? request, string? clientAddress, bool full, int maxBodyBytes)
    {
        _inner = inner;
        _request = request;
        _full = full;
        _maxBodyBytes = maxBodyBytes;
        _clientAddress = clientAddress;
        _body = new DigestingBufferWriter(inner.Body, full ? maxBodyBytes : 0);
    }

    /// <summary>Audits <paramref name="request"/> relayed to <paramref name="output"/>; the key's and the request's audit modes decide whether bodies are kept.</summary>
    /// <remarks>
    /// NOTE: the request's digest (and, for a full audit, its copy) is taken in <see cref="Facts"/>, once the answer is
    /// out, not here: it is the audit's, and hashing a long prompt here would delay the upstream call by it. The
    /// request's bytes live until the request is disposed, after its facts are read.
    /// </remarks>
    public static AuditedOutput Start(RelayRequest request, IRelayOutput output, int maxBodyBytes) =>
        new(output, request, request.ClientAddress, request.KeepsBodies, maxBodyBytes);

    /// <summary>Audits a request refused before its body could be read: no request digest, only who sent it.</summary>
    public static AuditedOutput Unread(IRelayOutput output, string? clientAddress) => new(output, null, clientAddress, false, 0);

    public bool Started => _inner.Started;

    public IBufferWriter<byte> Body => _body;

    public bool NeedsKeepAlive => _inner.NeedsKeepAlive;

    public void SetHeader(string name, string value) => _inner.SetHeader(name, value);

    public void WriteLimitHeaders(KeyLease lease, WireFormat format) => _inner.WriteLimitHeaders(lease, format);

    public void Start(int status, string contentType, long? contentLength, bool stream) => _inner.Start(status, contentType, contentLength, stream);

    public ValueTask FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    public ValueTask CompleteAsync() => _inner.CompleteAsync();

    public void Abort() => _inner.Abort();

    /// <summary>What the audit row records once the request is over. The response digest only when an answer was written.</summary>
    public AuditFacts Facts()
    {
        var body = RequestBody();
        ReadOnlyMemory<byte> capture = _full && body is { } bytes ? bytes[..Math.Min(bytes.Length, _maxBodyBytes)].ToArray() : default;
        return new AuditFacts
        {
            ClientAddress = _clientAddress,
            RequestSha256 = body is { } hashed ? Sha256Digest.Of(hashed.Span) : null,
            RequestBytes = body?.Length ?? 0,
            ResponseSha256 = _inner.Started ? _body.Sha256() : null,
            ResponseBytes = _body.Length,
            Bodies = _full ? new AuditBodies(capture, _body.CopyCaptured(), (body?.Length ?? 0) > capture.Length || _body.Truncated) : null,
        };
    }

    public void Dispose() => _body.Dispose();

    /// <summary>The request's bytes as audited (<see cref="BodyOf"/>); null for a request refused unread, or one that cannot be written down.</summary>
    private ReadOnlyMemory<byte>? RequestBody()
    {
        if (_request is null)
        {
            return null;
        }

        try
        {
            return BodyOf(_request);
        }
        catch (Exception)
        {
            // A request that cannot be written down failed where the relay translates it, inside the path that
            // metered it; here it only has no digest.
            return null;
        }
    }

    /// <summary>
    /// The client's bytes; for a request built in code (no bytes), the request as the relay understood it, written in
    /// its client API's format, so an in-process request has a digest and a body too.
    /// </summary>
    private static ReadOnlyMemory<byte> BodyOf(RelayRequest request)
    {
        if (!request.Body.IsEmpty)
        {
            return request.Body;
        }

        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            request.Api.Format.WriteRequest(request.Chat, request.Chat.Model, writer);
        }

        return buffer.WrittenMemory;
    }
}
