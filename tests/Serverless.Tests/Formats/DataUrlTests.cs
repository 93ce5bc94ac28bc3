using Serverless.Relay.Formats;
using Xunit;

namespace Serverless.Tests.Formats;

public sealed class DataUrlTests
{
    [Theory]
    [InlineData("data:image/png;base64,iVBORw0KGgo=", "image/png", "iVBORw0KGgo=")]
    [InlineData("DATA:image/jpeg;BASE64,/9j/4A==", "image/jpeg", "/9j/4A==")]
    [InlineData("data:image/webp;name=cat.webp;base64,UklGRg==", "image/webp", "UklGRg==")]
    public void TryParse_Base64DataUrl_SplitsMediaTypeAndData(string url, string mediaType, string data)
    {
        Assert.True(DataUrl.TryParse(url, out var parsedType, out var parsedData));
        Assert.Equal(mediaType, parsedType);
        Assert.Equal(data, parsedData);
    }

    [Theory]
    [InlineData("https://example.com/cat.png")]
    [InlineData("data:text/plain,hello")]
    [InlineData("data:;base64,AAAA")]
    [InlineData("data:image/png;base64")]
    public void TryParse_NotABase64DataUrl_False(string url)
    {
        Assert.False(DataUrl.TryParse(url, out _, out _));
    }

    [Fact]
    public void Of_RoundTripsThroughTryParse()
    {
        var url = DataUrl.Of("image/gif", "R0lGOD==");

        Assert.Equal("data:image/gif;base64,R0lGOD==", url);
        Assert.True(DataUrl.TryParse(url, out var mediaType, out var data));
        Assert.Equal(("image/gif", "R0lGOD=="), (mediaType, data));
    }
}
