using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Serverless.Relay.Accounts;
using Serverless.Relay.Canonical;
using Serverless.Relay.Formats;
using Serverless.Relay.Providers;

namespace Serverless.Relay.Relaying;

/// <summary>
/// Token counting (Anthropic <c>count_tokens</c>, Gemini <c>countTokens</c>): asks the upstream when it speaks the
/// client's format and has a count endpoint, so the number is exact; otherwise estimates with <see cref="TokenEstimator"/>.
/// Counting is free upstream and writes no usage row.
/// </summary>
internal sealed class TokenCounter(ClientAuthenticator authenticator, AccountRouter router, UpstreamHttp http, TokenEstimator estimator, OAuth.OAuthTokens oauth)
{
    /// <param name="readRequest">Parses the count body into a canonical request (formats differ in what a count body holds).</param>
    /// <param name="writeCount">Writes the estimated count in the client's shape.</param>
    public async Task CountAsync(
        HttpContext context,
        ClientApi api,
        string? modelFromPath,
        Func<JsonElement, Parsed<ChatRequest>> readRequest,
        Action<Utf8JsonWriter, int> writeCount)
    {
        var cancellationToken = context.RequestAborted;
        var (key, authError) = await authenticator.AuthenticateAsync(context.Request, cancellationToken).ConfigureAwait(false);
        if (key is null)
        {
            await RelayResults.WriteErrorAsync(context, api.Format, authError!).ConfigureAwait(false);
            return;
        }

        var (body, bodyError) = await RequestBody.ReadAsync(context.Request, cancellationToken).ConfigureAwait(false);
        if (bodyError is not null)
        {
            await RelayResults.WriteErrorAsync(context, api.Format, bodyError).ConfigureAwait(false);
            return;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException e)
        {
            await RelayResults.WriteErrorAsync(context, api.Format, RelayError.Invalid($"Request body is not valid JSON: {e.Message}")).ConfigureAwait(false);
            return;
        }

        // The parsed request may still point into the document (e.g. tool schemas), so it lives until the count is written.
        using (document)
        {
            await CountParsedAsync(context, api, key, body, readRequest(document.RootElement), writeCount).ConfigureAwait(false);
        }
    }

    private async Task CountParsedAsync(HttpContext context, ClientApi api, Keys.ClientKey key, ReadOnlyMemory<byte> body, Parsed<ChatRequest> parsed, Action<Utf8JsonWriter, int> writeCount)
    {
        var cancellationToken = context.RequestAborted;

        if (!parsed.IsSuccess)
        {
            await RelayResults.WriteErrorAsync(context, api.Format, parsed.Error!).ConfigureAwait(false);
            return;
        }

        var request = parsed.Value!;
        if (!key.AllowsModel(request.Model))
        {
            await RelayResults.WriteErrorAsync(context, api.Format, new RelayError(ErrorKind.PermissionDenied, $"This API key may not use model '{request.Model}'.", "model")).ConfigureAwait(false);
            return;
        }

        var candidates = await router.CandidatesAsync(request.Model, cancellationToken).ConfigureAwait(false);
        if (candidates.Count == 0)
        {
            await RelayResults.WriteErrorAsync(context, api.Format, new RelayError(ErrorKind.NotFound, $"The model '{request.Model}' does not exist or is not served by this relay.", "model")).ConfigureAwait(false);
            return;
        }

        var account = candidates[0].Account;
        if (account.OAuth is not null && await oauth.GetAccessTokenAsync(account, cancellationToken).ConfigureAwait(false) is { IsSuccess: true } token)
        {
            account = account with { AccessToken = token.AccessToken };
        }
        var provider = ProviderRegistry.For(account.Provider);
        var upstreamModel = candidates[0].UpstreamModel;
        if (provider.UpstreamFormat(api.Format.Format).Format == api.Format.Format
            && provider.CountTokensEndpoint(account, upstreamModel) is { } endpoint)
        {
            await ForwardAsync(context, api, account, provider, endpoint, body, request.Model, upstreamModel).ConfigureAwait(false);
            return;
        }

        var count = estimator.Count(request);
        await RelayResults.WriteJsonAsync(context, StatusCodes.Status200OK, writer => writeCount(writer, count)).ConfigureAwait(false);
    }

    private async Task ForwardAsync(HttpContext context, ClientApi api, UpstreamAccount account, IProvider provider, Uri endpoint, ReadOnlyMemory<byte> body, string requestedModel, string upstreamModel)
    {
        HttpContent content;
        if (api.Format.Format != WireFormat.Gemini && !string.Equals(requestedModel, upstreamModel, StringComparison.Ordinal))
        {
            var json = JsonNode.Parse(body.Span)!.AsObject();
            json["model"] = upstreamModel;
            content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(json));
        }
        else
        {
            content = new ReadOnlyMemoryContent(body);
        }

        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var message = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = content };
        provider.Authorize(message, account, context.Request);
        HttpResponseMessage response;
        try
        {
            response = await http.Client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            await RelayResults.WriteErrorAsync(context, api.Format, new RelayError(ErrorKind.Upstream, $"Could not reach the upstream {account.Provider.WireName()} ({e.HttpRequestError}).")).ConfigureAwait(false);
            return;
        }

        using (response)
        {
            var bytes = await response.Content.ReadAsByteArrayAsync(context.RequestAborted).ConfigureAwait(false);
            if ((int)response.StatusCode is 401 or 403)
            {
                await RelayResults.WriteErrorAsync(context, api.Format, UpstreamErrors.FromStatus((int)response.StatusCode, bytes, api.Format, account, null)).ConfigureAwait(false);
                return;
            }

            context.Response.StatusCode = (int)response.StatusCode;
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
        }
    }
}
