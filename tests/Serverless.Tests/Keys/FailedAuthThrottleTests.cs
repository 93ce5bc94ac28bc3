using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Serverless.Relay.Keys;
using Xunit;

namespace Serverless.Tests.Keys;

public sealed class FailedAuthThrottleTests
{
    private readonly FakeTimeProvider _time = new();

    private FailedAuthThrottle Throttle(int burst = 3, double forgiveSeconds = 6) =>
        new(Options.Create(new FailedAuthThrottleOptions { Burst = burst, ForgiveEvery = TimeSpan.FromSeconds(forgiveSeconds) }), _time, NullLogger<FailedAuthThrottle>.Instance);

    [Fact]
    public void RetryAfter_FewerFailuresThanBurst_Null()
    {
        var throttle = Throttle();

        throttle.Failed("10.0.0.1");
        throttle.Failed("10.0.0.1");

        Assert.Null(throttle.RetryAfter("10.0.0.1"));
    }

    [Fact]
    public void RetryAfter_BurstReached_WaitUntilOneFailureIsForgiven()
    {
        var throttle = Throttle();
        for (var i = 0; i < 3; i++)
        {
            throttle.Failed("10.0.0.1");
        }

        Assert.Equal(TimeSpan.FromSeconds(6), throttle.RetryAfter("10.0.0.1"));
        _time.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(TimeSpan.FromSeconds(2), throttle.RetryAfter("10.0.0.1"));
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.Null(throttle.RetryAfter("10.0.0.1"));
    }

    [Fact]
    public void RetryAfter_OtherAddress_Unaffected()
    {
        var throttle = Throttle();
        for (var i = 0; i < 5; i++)
        {
            throttle.Failed("10.0.0.1");
        }

        Assert.NotNull(throttle.RetryAfter("10.0.0.1"));
        Assert.Null(throttle.RetryAfter("10.0.0.2"));
    }

    [Fact]
    public void Failed_SustainedBelowForgiveRate_NeverThrottled()
    {
        var throttle = Throttle();
        for (var i = 0; i < 50; i++)
        {
            throttle.Failed("10.0.0.1");
            Assert.Null(throttle.RetryAfter("10.0.0.1"));
            _time.Advance(TimeSpan.FromSeconds(6));
        }
    }

    [Theory]
    [InlineData("127.0.0.1", "203.0.113.9", "203.0.113.9")]
    [InlineData("127.0.0.1", "198.51.100.1, 203.0.113.9:5123", "203.0.113.9")]
    [InlineData("127.0.0.1", "[2001:db8::1]:443", "2001:db8::1")]
    [InlineData("127.0.0.1", null, "127.0.0.1")]
    [InlineData("127.0.0.1", "not an address", "127.0.0.1")]
    [InlineData("192.0.2.7", "203.0.113.9", "192.0.2.7")]
    public void ClientOf_ForwardedHeader_TrustedOnlyFromLoopback(string peer, string? forwarded, string expected)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse(peer);
        if (forwarded is not null)
        {
            context.Request.Headers["X-Forwarded-For"] = forwarded;
        }

        Assert.Equal(expected, FailedAuthThrottle.ClientOf(context));
    }
}
