using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Serverless.Relay.Formats;

namespace Serverless.Relay.Relaying;

/// <summary>Reads the whole client body: requests are small and must be parsed, and a same-format relay forwards the exact bytes.</summary>
internal static class RequestBody
{
    public static async ValueTask<(ReadOnlyMemory<byte> Body, RelayError? Error)> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > RelayLimits.MaxRequestBodyBytes)
        {
            return (default, TooLarge());
        }

        var reader = request.BodyReader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                if (result.Buffer.Length > RelayLimits.MaxRequestBodyBytes)
                {
                    reader.AdvanceTo(result.Buffer.End);
                    return (default, TooLarge());
                }

                if (result.IsCompleted)
                {
                    var body = result.Buffer.ToArray();
                    reader.AdvanceTo(result.Buffer.End);
                    return (body, null);
                }

                // Consume nothing yet: the pipe keeps buffering until the body is complete.
                reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (default, TooLarge());
        }
    }

    private static RelayError TooLarge() =>
        new(ErrorKind.RequestTooLarge, $"Request body is larger than {RelayLimits.MaxRequestBodyBytes / (1024 * 1024)} MB.");
}
