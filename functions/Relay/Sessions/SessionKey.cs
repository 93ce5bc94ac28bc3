using System.Buffers;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Serverless.Relay.Buffers;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Json;

namespace Serverless.Relay.Sessions;

/// <summary>
/// Which conversation a request belongs to, from what clients already send: an <c>x-session-id</c> header, OpenAI
/// <c>prompt_cache_key</c>, Anthropic <c>metadata.user_id</c> or OpenAI <c>user</c>; else a hash of the system prompt
/// and the first user message (the same for every turn of one conversation).
/// </summary>
internal static class SessionKey
{
    public const string Header = "x-session-id";

    /// <summary>
    /// The binding's storage key of session <paramref name="id"/> (<see cref="Named"/>, else <see cref="Derived"/>): a
    /// hash of the relay key, the model and the id, so two clients or two models never share a binding and no client
    /// text is stored.
    /// </summary>
    public static string Of(string clientKeyId, string model, string id)
    {
        // NOTE: the three texts encoded into one pooled buffer, not joined into a string and then its bytes: this runs
        // for every request with a session. The bytes are the same, so are the keys of bindings already stored.
        var lowered = model.ToLowerInvariant();
        var buffer = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(clientKeyId.Length + lowered.Length + id.Length + 2));
        try
        {
            var length = Encoding.UTF8.GetBytes(clientKeyId, buffer);
            buffer[length++] = (byte)'\n';
            length += Encoding.UTF8.GetBytes(lowered, buffer.AsSpan(length));
            buffer[length++] = (byte)'\n';
            length += Encoding.UTF8.GetBytes(id, buffer.AsSpan(length));
            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(buffer.AsSpan(0, length), hash);
            return Convert.ToHexStringLower(hash[..16]);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// The session id the request names: the client's hint, else its end user (the readers put Anthropic
    /// <c>metadata.user_id</c> and OpenAI <c>user</c> there). Null when only its prompt can identify it (<see cref="Derived"/>).
    /// </summary>
    public static string? Named(RequestHead head, string? clientHint) =>
        clientHint ?? (string.IsNullOrEmpty(head.User) ? null : "u:" + head.User);

    /// <summary>The session id of a request that continues the stored answer <paramref name="responseId"/>: the answer's own.</summary>
    public static string Continuing(string responseId) => "r:" + responseId;

    /// <summary>
    /// The session id the client sent outside the canonical request: an <c>x-session-id</c> header, or OpenAI's
    /// <c>prompt_cache_key</c> in the body. Null when it sent neither.
    /// </summary>
    public static string? ClientHint(IHeaderDictionary? headers, JsonElement body)
    {
        var header = headers?[Header].ToString();
        if (!string.IsNullOrEmpty(header))
        {
            return "h:" + header;
        }

        if (body.ValueKind == JsonValueKind.Object && body.TryGetProperty("prompt_cache_key", out var cacheKey) && cacheKey.ValueKind == JsonValueKind.String && cacheKey.GetString() is { Length: > 0 } key)
        {
            return "c:" + key;
        }

        return null;
    }

    /// <summary>
    /// The session id of a request that names none: the hash of the system prompt and the first user message, streamed
    /// into SHA-256 part by part. A 30 MB message is read in place, never joined or copied (it was copied twice before,
    /// issue 11). The bytes hashed are exactly those of the joined text (the encoder carries a surrogate pair split
    /// across parts), so bindings made before still match.
    /// </summary>
    public static string? Derived(ChatRequest request)
    {
        using var text = new TextHash();
        foreach (var part in request.System)
        {
            text.Append(part.Text);
            text.Append("\n");
        }

        text.Append("\u0001");
        foreach (var message in request.Messages)
        {
            if (message.Role != ChatRole.User)
            {
                continue;
            }

            foreach (var part in message.Content)
            {
                if (part is TextPart textPart)
                {
                    text.Append(textPart.Text);
                }
            }

            break;
        }

        return text.Chars <= 1 ? null : "p:" + text.Finish();
    }

    /// <summary>
    /// As <see cref="Derived(ChatRequest)"/>, read in place from the client's body by its format (no canonical request
    /// is built): the same text, so the same id, for a body the canonical reader reads.
    /// </summary>
    public static string? Derived(IChatFormat format, JsonElement body)
    {
        using var start = new ConversationHash();
        format.ReadConversationStart(body, start);
        return start.Finish();
    }

    /// <summary>
    /// Hashes what a format hands on as <see cref="Derived(ChatRequest)"/> hashes a canonical request's parts. A string
    /// without escapes is hashed as its UTF-8 bytes in the body (those are the bytes of its text); one with escapes is
    /// decoded first, and an unreadable one is left out, as the canonical reader would refuse it.
    /// </summary>
    private sealed class ConversationHash : IConversationStart, IDisposable
    {
        private readonly TextHash _text = new();
        private bool _user;

        public void AddSystem(JsonElement text)
        {
            Append(text);
            _text.Append("\n");
        }

        public void AddUser(JsonElement text)
        {
            StartUser();
            Append(text);
        }

        public string? Finish()
        {
            StartUser();
            return _text.Chars <= 1 ? null : "p:" + _text.Finish();
        }

        public void Dispose() => _text.Dispose();

        private void StartUser()
        {
            if (!_user)
            {
                _text.Append("\u0001");
                _user = true;
            }
        }

        private void Append(JsonElement text)
        {
            // The raw value of a string is its JSON token, quotes included.
            var raw = JsonMarshal.GetRawUtf8Value(text)[1..^1];
            if (raw.IndexOf((byte)'\\') < 0)
            {
                _text.AppendUtf8(raw);
            }
            else if (JsonFields.TryReadText(text, out var decoded))
            {
                _text.Append(decoded);
            }
        }
    }

    /// <summary>SHA-256 over the UTF-8 of text appended in pieces, encoded a bounded chunk at a time.</summary>
    private sealed class TextHash : IDisposable
    {
        private const int ChunkChars = 4096;

        private readonly IncrementalHash _hash = Sha256Pool.Rent();
        private bool _finished;
        private readonly Encoder _encoder = Encoding.UTF8.GetEncoder();
        private readonly byte[] _bytes = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(ChunkChars));

        /// <summary>How much was appended (UTF-16 units, or bytes of UTF-8): whether anything but the separator was.</summary>
        public long Chars { get; private set; }

        public void Append(ReadOnlySpan<char> text)
        {
            Chars += text.Length;
            while (!text.IsEmpty)
            {
                var chunk = text[..Math.Min(ChunkChars, text.Length)];
                _hash.AppendData(_bytes, 0, _encoder.GetBytes(chunk, _bytes, flush: false));
                text = text[chunk.Length..];
            }
        }

        /// <summary>Text already in UTF-8 (valid, no pending surrogate before it): hashed as it is.</summary>
        public void AppendUtf8(ReadOnlySpan<byte> utf8)
        {
            Chars += utf8.Length;
            _hash.AppendData(utf8);
        }

        public string Finish()
        {
            _hash.AppendData(_bytes, 0, _encoder.GetBytes([], _bytes, flush: true));
            _finished = true;
            return Convert.ToHexStringLower(_hash.GetHashAndReset());
        }

        public void Dispose()
        {
            Sha256Pool.Return(_hash, _finished);
            ArrayPool<byte>.Shared.Return(_bytes);
        }
    }
}
