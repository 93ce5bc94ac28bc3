using Azure.Core;
using Azure.Identity;

namespace Serverless.Relay.Connections;

/// <summary>Which Entra credential an identity-based connection uses.</summary>
internal enum CredentialKind
{
    /// <summary><c>__credential</c> unset: <see cref="DefaultAzureCredential"/> (a developer's az login, or the platform identity).</summary>
    Default,

    /// <summary><c>__credential=managedidentity</c>: the app's managed identity, user-assigned when <c>__clientId</c> is set.</summary>
    ManagedIdentity,
}

/// <summary>
/// The credential of an identity-based connection, read the way the Functions host reads it
/// (<c>{Connection}__credential</c>, <c>{Connection}__clientId</c>), so one set of app settings serves host and handler.
/// </summary>
internal sealed record ConnectionCredential(CredentialKind Kind, string? ClientId)
{
    public const string CredentialSuffix = "__credential";
    public const string ClientIdSuffix = "__clientId";
    public const string ManagedIdentityValue = "managedidentity";

    /// <summary>Reads the credential settings of <paramref name="connection"/>; adds an error naming the setting when one is wrong.</summary>
    public static ConnectionCredential? Resolve(string connection, string? credential, string? clientId, List<string> errors)
    {
        clientId = string.IsNullOrWhiteSpace(clientId) ? null : clientId.Trim();
        if (string.IsNullOrWhiteSpace(credential))
        {
            return new ConnectionCredential(CredentialKind.Default, clientId);
        }

        if (string.Equals(credential.Trim(), ManagedIdentityValue, StringComparison.OrdinalIgnoreCase))
        {
            return new ConnectionCredential(CredentialKind.ManagedIdentity, clientId);
        }

        errors.Add($"{connection}{CredentialSuffix} is '{credential}': set it to {ManagedIdentityValue}, or leave it unset for DefaultAzureCredential.");
        return null;
    }

    /// <summary>The Azure.Identity credential. No I/O: a token is fetched on first use.</summary>
    public TokenCredential Create() => Kind switch
    {
        CredentialKind.ManagedIdentity => new ManagedIdentityCredential(
            ClientId is null ? ManagedIdentityId.SystemAssigned : ManagedIdentityId.FromUserAssignedClientId(ClientId)),
        _ => new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = ClientId }),
    };
}
