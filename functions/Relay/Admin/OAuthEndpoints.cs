using System.Text.Json;
using Serverless.Relay.ApiDocs;
using Serverless.Relay.Formats;
using Serverless.Relay.OAuth;

namespace Serverless.Relay.Admin;

/// <summary>
/// <c>oauth/authorize</c> and <c>oauth/complete</c>: adding an OAuth account by authorization code with PKCE (see
/// <see cref="PkceAuthorizations"/>). A completed authorization creates the account as <c>POST accounts</c> would.
/// </summary>
internal sealed class OAuthEndpoints(PkceAuthorizations pkce, AccountEndpoints accounts) : IAdminEndpointGroup
{
    public void Map(AdminRouteGroup group) => group.MapGroup("oauth")
        .MapPost("authorize", AuthorizeAsync).Documented(new("Starts an OAuth (PKCE) login for a new account: returns the URL to open") { Request = AdminSchemas.OAuthAuthorize, Response = AdminSchemas.OAuthAuthorization })
        .MapPost("complete", CompleteAsync).Documented(new("Trades the code the login returned for tokens and creates the account") { Request = AdminSchemas.OAuthComplete, Status = 201, Response = AdminSchemas.Account, Errors = [502] });

    private async Task<AdminResult> AuthorizeAsync(AdminCall call)
    {
        var errors = new FieldErrors();
        if (AuthorizationRequestReader.Parse(call.Body, errors) is not { } request)
        {
            return errors.ToError();
        }

        var started = await pkce.StartAsync(request, call.Aborted);
        return AdminResult.Ok(writer =>
        {
            writer.WriteStartObject();
            writer.WriteString("object", "oauth.authorization");
            writer.WriteString("state", started.State);
            writer.WriteString("authorizationUrl", started.AuthorizationUrl);
            writer.WriteString("expiresAt", started.ExpiresAt);
            writer.WriteEndObject();
        });
    }

    private async Task<AdminResult> CompleteAsync(AdminCall call)
    {
        var (code, state, invalid) = ReadCompletion(call.Body);
        if (invalid is not null)
        {
            return invalid;
        }

        var completed = await pkce.CompleteAsync(state!, code!, call.Aborted);
        if (!completed.IsSuccess)
        {
            return completed.Error!;
        }

        using var account = completed.Value!;
        return await accounts.CreateAsync(account.RootElement, call.Aborted);
    }

    /// <summary>
    /// Reads <c>{state, code}</c>; <c>code</c> may be <c>code#state</c> as Anthropic's console shows it, and then
    /// <c>state</c> may be left out.
    /// </summary>
    internal static (string? Code, string? State, RelayError? Error) ReadCompletion(JsonElement body)
    {
        var errors = new FieldErrors();
        string? code = null, state = null, stateInCode = null;
        if (!body.TryGetProperty("code", out var codeValue))
        {
            errors.Add("code", "code is required");
        }
        else if (codeValue.ValueKind != JsonValueKind.String || codeValue.GetString()!.Trim() is not { Length: > 0 and <= PkceAuthorizations.MaxCodeLength } text)
        {
            errors.Add("code", "code must be a non-empty string");
        }
        else
        {
            var hash = text.IndexOf('#', StringComparison.Ordinal);
            code = hash < 0 ? text : text[..hash];
            stateInCode = hash < 0 ? null : text[(hash + 1)..];
            if (code.Length == 0)
            {
                errors.Add("code", "code must be a non-empty string");
            }
        }

        if (body.TryGetProperty("state", out var stateValue) && stateValue.ValueKind != JsonValueKind.Null)
        {
            state = stateValue.ValueKind == JsonValueKind.String && stateValue.GetString() is { Length: > 0 } given ? given : null;
            if (state is null)
            {
                errors.Add("state", "state must be a non-empty string");
            }
            else if (stateInCode is { Length: > 0 } && stateInCode != state)
            {
                errors.Add("state", "state does not match the state after '#' in code");
            }
        }
        else if (stateInCode is { Length: > 0 })
        {
            state = stateInCode;
        }
        else if (!errors.Has("code"))
        {
            errors.Add("state", "state is required (or send code as 'code#state')");
        }

        return errors.Any ? (null, null, errors.ToError()) : (code, state, null);
    }
}
