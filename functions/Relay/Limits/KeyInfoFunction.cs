using Microsoft.AspNetCore.Http;
using Serverless.Relay.Admin;
using Serverless.Relay.Formats.OpenAIChat;
using Serverless.Relay.Functions;
using Serverless.Relay.Relaying;

namespace Serverless.Relay.Limits;

/// <summary>
/// <c>GET /v1/key-info</c>: the calling key's own record (never the secret), its limits and where each stands, so a client
/// can see its quota before it hits a 429. Authenticated like the chat APIs; errors in OpenAI's shape.
/// </summary>
internal sealed class KeyInfoFunction(ClientAuthenticator authenticator, QuotaReader quotas) : IHttpFunction
{
    public const string FunctionName = "KeyInfo";

    public string Name => FunctionName;

    public async Task InvokeAsync(HttpContext context)
    {
        var ct = context.RequestAborted;
        var (key, error) = await authenticator.AuthenticateAsync(context.Request, ct).ConfigureAwait(false);
        if (key is null)
        {
            await RelayResults.WriteErrorAsync(context, OpenAIChatFormat.Default, error!).ConfigureAwait(false);
            return;
        }

        var lines = await quotas.ReadAsync(key, ct).ConfigureAwait(false);
        await RelayResults.WriteJsonAsync(context, StatusCodes.Status200OK, writer =>
        {
            writer.WriteStartObject();
            writer.WritePropertyName("key");
            AdminViews.WriteKey(writer, key);
            writer.WritePropertyName("quota");
            AdminFunction.WriteQuota(writer, key, lines);
            writer.WriteEndObject();
        }).ConfigureAwait(false);
    }
}
