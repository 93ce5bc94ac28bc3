using Serverless.Relay.Accounts;
using Serverless.Relay.Providers;
using Xunit;

namespace Serverless.Tests.Accounts;

public sealed class UpstreamAccountTests
{
    private static readonly UpstreamAccount Account = new()
    {
        Id = "acct_0000000000000001",
        Name = "azure east",
        Provider = ProviderKind.AzureOpenAI,
        BaseUrl = "https://east.openai.azure.com",
        Models = ["gpt-4o*"],
        ModelMap = new Dictionary<string, string> { ["gpt-4o"] = "prod-gpt4o", ["o3"] = "prod-o3" },
        CreatedAt = DateTimeOffset.UnixEpoch,
        ApiKey = "sk-upstream-very-secret",
    };

    [Theory]
    [InlineData("gpt-4o-mini", true)]
    [InlineData("O3", true)]
    [InlineData("claude-sonnet-4", false)]
    public void Serves_PatternOrMapEntry_True(string model, bool expected) => Assert.Equal(expected, Account.Serves(model));

    [Theory]
    [InlineData("gpt-4o", "prod-gpt4o")]
    [InlineData("GPT-4o", "prod-gpt4o")]
    [InlineData("gpt-4o-mini", "gpt-4o-mini")]
    public void UpstreamModelFor_Mapped_UsesMapElseSameName(string requested, string expected) =>
        Assert.Equal(expected, Account.UpstreamModelFor(requested));

    [Fact]
    public void ToString_WithApiKey_HidesIt()
    {
        var text = Account.ToString();

        Assert.DoesNotContain("very-secret", text, StringComparison.Ordinal);
        Assert.Contains("ApiKey = ***", text, StringComparison.Ordinal);
    }
}
