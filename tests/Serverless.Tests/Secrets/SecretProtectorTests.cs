using Microsoft.Extensions.Options;
using Serverless.Relay.Secrets;
using Serverless.Tests.Storage;
using Xunit;

namespace Serverless.Tests.Secrets;

public sealed class SecretProtectorTests
{
    private const string Scope = "accounts/account/acct_0000000000000001/ApiKey";

    private static SecretProtector Protector(string keys, string? current = null) =>
        new(new EncryptionKeyRing(Options.Create(new SecretOptions { EncryptionKeys = keys, EncryptionKeyId = current })));

    [Fact]
    public void Protect_ThenUnprotect_RoundTrips()
    {
        var protector = Protector($"k1={StorageTestKit.Key1}");

        var stored = protector.Protect("sk-upstream-secret", Scope);

        Assert.StartsWith("k1:", stored, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-upstream-secret", stored, StringComparison.Ordinal);
        Assert.Equal(12 + 18 + 16, Convert.FromBase64String(stored["k1:".Length..]).Length);
        Assert.True(protector.TryUnprotect(stored, Scope, out var plaintext, out var error));
        Assert.Equal("sk-upstream-secret", plaintext);
        Assert.Equal(SecretError.None, error);
    }

    [Fact]
    public void Protect_SameSecretTwice_UsesFreshNonce()
    {
        var protector = Protector($"k1={StorageTestKit.Key1}");

        Assert.NotEqual(protector.Protect("same", Scope), protector.Protect("same", Scope));
    }

    [Fact]
    public void Unprotect_AfterCurrentKidChanges_OldKidStillReadable()
    {
        var before = Protector($"k1={StorageTestKit.Key1}");
        var stored = before.Protect("old-secret", Scope);
        var after = Protector($"k1={StorageTestKit.Key1};k2={StorageTestKit.Key2}", current: "k2");

        var rewritten = after.Protect("new-secret", Scope);

        Assert.True(after.TryUnprotect(stored, Scope, out var plaintext, out _));
        Assert.Equal("old-secret", plaintext);
        Assert.StartsWith("k2:", rewritten, StringComparison.Ordinal);
        Assert.True(after.TryUnprotect(rewritten, Scope, out var fresh, out _));
        Assert.Equal("new-secret", fresh);
    }

    [Fact]
    public void Unprotect_FlippedCiphertextByte_FailsAuthentication()
    {
        var protector = Protector($"k1={StorageTestKit.Key1}");
        var payload = Convert.FromBase64String(protector.Protect("secret", Scope)["k1:".Length..]);
        payload[14] ^= 0x01;

        Assert.False(protector.TryUnprotect("k1:" + Convert.ToBase64String(payload), Scope, out var plaintext, out var error));
        Assert.Null(plaintext);
        Assert.Equal(SecretError.AuthenticationFailed, error);
    }

    [Fact]
    public void Unprotect_CopiedToAnotherRow_FailsAuthentication()
    {
        var protector = Protector($"k1={StorageTestKit.Key1}");
        var stored = protector.Protect("secret", Scope);

        Assert.False(protector.TryUnprotect(stored, "accounts/account/acct_0000000000000002/ApiKey", out _, out var error));
        Assert.Equal(SecretError.AuthenticationFailed, error);
    }

    [Fact]
    public void Unprotect_RelabelledWithAnotherKid_FailsAuthentication()
    {
        var protector = Protector($"k1={StorageTestKit.Key1};k2={StorageTestKit.Key1}");
        var stored = protector.Protect("secret", Scope);

        Assert.False(protector.TryUnprotect("k2" + stored[2..], Scope, out _, out var error));
        Assert.Equal(SecretError.AuthenticationFailed, error);
    }

    [Theory]
    [InlineData("k9:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", nameof(SecretError.UnknownKeyId))]
    [InlineData("no-colon-here", nameof(SecretError.Malformed))]
    [InlineData("k1:not*base64", nameof(SecretError.Malformed))]
    [InlineData("k1:AAAA", nameof(SecretError.Malformed))]
    public void Unprotect_UnreadableValue_ReportsWhy(string stored, string expected)
    {
        var protector = Protector($"k1={StorageTestKit.Key1}");

        Assert.False(protector.TryUnprotect(stored, Scope, out _, out var error));
        Assert.Equal(expected, error.ToString());
    }
}
