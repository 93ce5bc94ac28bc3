using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Storage;
using Serverless.Relay;
using Serverless.Webhooks.Channels;
using Serverless.Webhooks.Platforms;
using Xunit;

namespace Serverless.Tests.Webhooks.Platforms;

public sealed class PlatformRegistrationTests(AzuriteFixture azurite)
{
    [Fact]
    public void AddImPlatforms_Resolves_OnePlatformEach()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(StorageTestKit.Settings(azurite, StorageTestKit.UniquePrefix("reg"))).Build();
        using var services = new ServiceCollection().AddLogging().AddRelayStorage(configuration).AddImPlatforms(configuration).BuildServiceProvider();

        var platforms = services.GetServices<IImPlatform>().ToDictionary(p => p.Platform);

        Assert.Equal(Enum.GetValues<ImPlatform>().Order(), platforms.Keys.Order());
        Assert.Equal(["appId", "appSecret", "verificationToken"], ChannelPlatforms.Of(ImPlatform.Feishu).RequiredCredentials);
        Assert.Equal(["corpId", "corpSecret", "agentId", "token", "encodingAesKey"], ChannelPlatforms.Of(ImPlatform.WeCom).RequiredCredentials);
        Assert.Equal(2048, platforms[ImPlatform.WeCom].MaxTextLength);
        Assert.Equal(6, platforms[ImPlatform.WeCom].MeasureText("中文"));
        Assert.Equal(TimeSpan.FromSeconds(10), services.GetRequiredService<PlatformHttp>().Client.Timeout);
    }
}
