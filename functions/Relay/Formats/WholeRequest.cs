using System.Text.Json;
using Serverless.Relay.Canonical;

namespace Serverless.Relay.Formats;

/// <summary>How every format reads a whole request: its head (the checks every request must pass), then the rest.</summary>
internal static class WholeRequest
{
    public static Result<ChatRequest> Read(IChatFormat format, JsonElement body, string? modelFromPath, bool stream)
    {
        var read = format.ReadHead(body, modelFromPath, stream);
        return read.Value is { } head ? format.ReadRequest(body, head) : read.Error!;
    }
}
