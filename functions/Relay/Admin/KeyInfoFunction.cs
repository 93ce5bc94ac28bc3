using Microsoft.AspNetCore.Http;
using Serverless.Relay.ApiDocs;
using Serverless.Relay.Functions;
using Serverless.Relay.Limits;
using Serverless.Relay.Relaying;

namespace Serverless.Relay.Admin;

/// <summary>
/// <c>GET /v1/key-info</c>: the calling key's own record (never the secret), its limits and where each stands, so a client
/// can see its quota before it hits a 429. Authenticated like the chat APIs; errors in OpenAI's shape.
/// </summary>
internal sealed class KeyInfoFunction(ClientAuthenticator authenticator, QuotaReader quotas) : IHttpFunction
{
    public const string FunctionName = "KeyInfo";

    /// <summary>This function's route, for the OpenAPI document.</summary>
    public static readonly ApiRoute Route = new("GET", "/v1/key-info",
        new ApiOperation("The calling key's record, limits and where each stands") { Response = AdminSchemas.KeyInfo },
        ApiRoute.RelayKey);

    public string Name => FunctionName;

    public async Task InvokeAsync(HttpContext context)
    {
        var ct = context.RequestAborted;
        var (key, error) = await authenticator.AuthenticateAsync(context.Request, ct).ConfigureAwait(false);
        if (key is null)
        {
            await AdminResult.Fail(error!).ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        var lines = await quotas.ReadAsync(key, ct).ConfigureAwait(false);
        await AdminResult.Ok(writer =>
        {
            writer.WriteStartObject();
            writer.WritePropertyName("key");
            AdminViews.WriteKey(writer, key);
            writer.WritePropertyName("quota");
            QuotaEndpoints.WriteQuota(writer, key, lines);
            writer.WriteEndObject();
        }).ExecuteAsync(context).ConfigureAwait(false);
    }
}
