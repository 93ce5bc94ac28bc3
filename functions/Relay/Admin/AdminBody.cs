using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Serverless.Relay.Formats;

namespace Serverless.Relay.Admin;

/// <summary>
/// Reads the JSON object body of an admin or quota write. Every failure is a value in the admin error shape: too large
/// (413), not JSON or not an object (400), and a string (value or property name) that is not valid UTF-8 or holds a lone
/// surrogate (400 naming the field), so no handler ever meets a string that <see cref="JsonElement.GetString"/> refuses.
/// </summary>
internal static class AdminBody
{
    /// <summary>Admin bodies are small: an account, a key, a price table of a few hundred rows.</summary>
    public const int MaxBytes = 1024 * 1024;

    public static async Task<(JsonDocument? Document, RelayError? Error)> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > MaxBytes)
        {
            return (null, TooLarge());
        }

        ReadOnlySequence<byte> buffer;
        var reader = request.BodyReader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                if (result.Buffer.Length > MaxBytes)
                {
                    reader.AdvanceTo(result.Buffer.End);
                    return (null, TooLarge());
                }

                if (result.IsCompleted)
                {
                    buffer = result.Buffer;
                    break;
                }

                // Consume nothing yet: the pipe keeps buffering until the body is complete.
                reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            // The server's own limit (Kestrel's MaxRequestBodySize) was hit before ours.
            return (null, TooLarge());
        }

        try
        {
            return Parse(buffer);
        }
        finally
        {
            reader.AdvanceTo(buffer.End);
        }
    }

    internal static (JsonDocument? Document, RelayError? Error) Parse(ReadOnlySequence<byte> body)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            return (null, RelayError.Invalid("request body is not valid JSON"));
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            return (null, RelayError.Invalid("request body must be a JSON object"));
        }

        if (FirstUnreadableString(document.RootElement, "") is { } field)
        {
            document.Dispose();
            return (null, RelayError.Invalid($"{field} holds text that is not valid UTF-8 (or a lone surrogate)", field));
        }

        return (document, null);
    }

    /// <summary>The path (<c>targets[0].upstreamModel</c>) of the first string that cannot be read as text, or null.</summary>
    private static string? FirstUnreadableString(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                return IsReadable(element) ? null : path;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    string name;
                    try
                    {
                        name = property.Name;
                    }
                    catch (InvalidOperationException)
                    {
                        return path.Length == 0 ? "body" : path;
                    }

                    var childPath = path.Length == 0 ? name : path + "." + name;
                    if (FirstUnreadableString(property.Value, childPath) is { } found)
                    {
                        return found;
                    }
                }

                return null;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (FirstUnreadableString(item, $"{path}[{index++}]") is { } found)
                    {
                        return found;
                    }
                }

                return null;
            default:
                return null;
        }
    }

    private static bool IsReadable(JsonElement value)
    {
        try
        {
            // NOTE: the reader accepts invalid UTF-8 and escaped lone surrogates ("\ud800"); only decoding the string
            // finds them, and it throws InvalidOperationException, not JsonException.
            _ = value.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static RelayError TooLarge() =>
        new(ErrorKind.RequestTooLarge, $"request body is larger than {MaxBytes / 1024} KB");
}
