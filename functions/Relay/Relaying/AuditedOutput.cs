using System.Buffers;
using System.Security.Cryptography;
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
    private readonly string? _clientAddress;
    private readonly bool _full;
    private readonly string? _requestSha256;
    private readonly long _requestBytes;
    private readonly ReadOnlyMemory<byte> _requestCapture;

    private AuditedOutput(IRelayOutput inner, RelayRequest? request, ReadOnlyMemory<byte> requestBody, string? clientAddress, bool full, int maxBodyBytes)
    {
        _inner = inner;
        _full = full;
        _clientAddress = clientAddress;
        _body = new DigestingBufferWriter(inner.Body, full ? maxBodyBytes : 0);
        if (request is not null)
        {
            _requestSha256 = Convert.ToHexStringLower(SHA256.HashData(requestBody.Span));
            _requestBytes = requestBody.Length;
            _requestCapture = full ? requestBody[..Math.Min(requestBody.Length, maxBodyBytes)].ToArray() : default;
        }
    }

    /// <summary>Audits <paramref name="request"/> relayed to <paramref name="output"/>; the key's and the request's audit modes decide whether bodies are kept.</summary>
    public static AuditedOutput Start(RelayRequest request, IRelayOutput output, int maxBodyBytes)
    {
        var full = AuditModes.Max(request.Key.Audit, request.Audit) == AuditMode.Full;
        ReadOnlyMemory<byte> body;
        try
        {
            body = BodyOf(request);
        }
        catch (Exception)
        {
            // A request that cannot be written down fails again where the relay translates it, inside the path that
            // meters it; here it only has no digest.
            return new AuditedOutput(output, null, default, request.ClientAddress, full, maxBodyBytes);
        }

        return new AuditedOutput(output, request, body, request.ClientAddress, full, maxBodyBytes);
    }

    /// <summary>Audits a request refused before its body could be read: no request digest, only who sent it.</summary>
    public static AuditedOutput Unread(IRelayOutput output, string? clientAddress) => new(output, null, default, clientAddress, false, 0);

    public bool Started => _inner.Started;

    public IBufferWriter<byte> Body => _body;

    public bool NeedsKeepAlive => _inner.NeedsKeepAlive;

    public void SetHeader(string name, string value) => _inner.SetHeader(name, value);

    public void WriteLimitHeaders(KeyLease lease, WireFormat format) => _inner.WriteLimitHeaders(lease, format);

    public void Start(int status, string contentType, long? contentLength, bool stream) => _inner.Start(status, contentType, contentLength, stream);

    public ValueTask FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    public void Abort() => _inner.Abort();

    /// <summary>What the audit row records once the request is over. The response digest only when an answer was written.</summary>
    public AuditFacts Facts() => new()
    {
        ClientAddress = _clientAddress,
        RequestSha256 = _requestSha256,
        RequestBytes = _requestBytes,
        ResponseSha256 = _inner.Started ? _body.Sha256Hex() : null,
        ResponseBytes = _body.Length,
        Bodies = _full ? new AuditBodies(_requestCapture, _body.Captured, _requestBytes > _requestCapture.Length || _body.Truncated) : null,
    };

    public void Dispose() => _body.Dispose();

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
