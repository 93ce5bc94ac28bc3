using Serverless.Relay.OAuth;

namespace Serverless.Relay.Admin;

/// <summary>
/// <c>oauth/authorize</c> and <c>oauth/complete</c>: adding an OAuth account by authorization code with PKCE (see
/// <see cref="PkceAuthorizations"/>). A completed authorization creates the account as <c>POST accounts</c> would.
/// </summary>
internal sealed class OAuthEndpoints(PkceAuthorizations pkce, AccountEndpoints accounts) : IAdminEndpointGroup
{
    public void Map(AdminRouteGroup group) => group.MapGroup("oauth")
        .MapPost("authorize", AuthorizeAsync)
        .MapPost("complete", CompleteAsync);

    private async Task<AdminResult> AuthorizeAsync(AdminCall call)
    {
        var errors = new FieldErrors();
        if (AuthorizationRequest.Parse(call.Body, errors) is not { } request)
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
        var completed = await pkce.CompleteAsync(call.Body, call.Aborted);
        if (!completed.IsSuccess)
        {
            return completed.Error!;
        }

        using var account = completed.Value!;
        return await accounts.CreateAsync(account.RootElement, call.Aborted);
    }
}
