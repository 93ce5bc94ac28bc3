using Serverless.Relay.Accounts;
using Xunit;

namespace Serverless.Tests.Accounts;

public sealed class ModelPatternTests
{
    [Theory]
    [InlineData("gpt-4o", "gpt-4o", true)]
    [InlineData("gpt-4o", "GPT-4O", true)]
    [InlineData("gpt-4o", "gpt-4o-mini", false)]
    [InlineData("gpt-4o*", "gpt-4o", true)]
    [InlineData("gpt-4o*", "gpt-4o-mini", true)]
    [InlineData("gpt-4o*", "gpt-4", false)]
    [InlineData("*", "anything-at-all", true)]
    [InlineData("*", "", true)]
    [InlineData("", "", true)]
    [InlineData("", "x", false)]
    [InlineData("claude-*-4*", "claude-sonnet-4-5", true)]
    [InlineData("claude-*-4*", "claude-3-5-sonnet", false)]
    [InlineData("*mini", "gpt-4o-mini", true)]
    [InlineData("*mini", "gpt-4o-mini-tts", false)]
    [InlineData("a*b*c", "aXbYbZc", true)]
    [InlineData("a*b*c", "aXbYbZ", false)]
    [InlineData("**", "x", true)]
    [InlineData("gemini-2.5-pro", "gemini-2X5-pro", false)]
    [InlineData("models/gemini-*", "models/gemini-2.5-flash", true)]
    public void IsMatch_Cases_MatchesGlobIgnoringCase(string pattern, string model, bool expected) =>
        Assert.Equal(expected, ModelPattern.IsMatch(pattern, model));
}
