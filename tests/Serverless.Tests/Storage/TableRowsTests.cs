using Serverless.Relay.Storage;
using Xunit;

namespace Serverless.Tests.Storage;

public sealed class TableRowsTests
{
    [Theory]
    [InlineData("key-1_ABC.z", "key-1_ABC.z")]
    [InlineData("a/b\\c#d?e", "a_b_c_d_e")]
    [InlineData("tab\there\u0000nul\u007fdel\u0085nel", "tab_here_nul_del_nel")]
    [InlineData("ключ 密钥 🔑", "ключ 密钥 🔑")]
    [InlineData("", "_")]
    public void SafeKey_ForbiddenCharacters_BecomeUnderscores(string value, string expected)
    {
        Assert.Equal(expected, TableRows.SafeKey(value));
    }

    [Fact]
    public void SafeKey_AlreadySafe_ReturnsTheSameString()
    {
        var key = "sk-relay-" + Guid.NewGuid().ToString("N");

        Assert.Same(key, TableRows.SafeKey(key));
    }

    [Fact]
    public void SafeKey_EveryControlCharacter_IsReplaced()
    {
        for (var c = '\0'; c < '\u00a0'; c++)
        {
            var safe = TableRows.SafeKey("x" + c);
            Assert.Equal(char.IsControl(c) || c is '/' or '\\' or '#' or '?' ? "x_" : "x" + c, safe);
        }
    }
}
