using System.Net.Sockets;
using Serverless.Relay.Failover;
using Xunit;

namespace Serverless.Tests.Upstreams;

/// <summary>Which unanswered calls are the relay's own doing (never marking an account) and which are the upstream's.</summary>
public sealed class RelaysOwnFailureTests
{
    [Theory]
    [InlineData(true, false, true)]   // timed out in the connection queue
    [InlineData(true, true, false)]   // timed out waiting for the upstream's answer
    [InlineData(false, false, false)] // a connect timeout of its own: the host did not answer
    public void IsRelaysOwn_Timeouts_OnlyBeforeTheRequestReachedAConnection(bool attemptTimedOut, bool written, bool expected)
    {
        Assert.Equal(expected, UpstreamStatus.IsRelaysOwn(new TaskCanceledException(), attemptTimedOut, written));
    }

    [Theory]
    [InlineData(SocketError.AddressAlreadyInUse, true)]
    [InlineData(SocketError.AddressNotAvailable, true)]
    [InlineData(SocketError.NoBufferSpaceAvailable, true)]
    [InlineData(SocketError.TooManyOpenSockets, true)]
    [InlineData(SocketError.ConnectionRefused, false)]
    [InlineData(SocketError.HostUnreachable, false)]
    [InlineData(SocketError.ConnectionReset, false)]
    public void IsRelaysOwn_ConnectFailures_OnlyLocalSocketErrors(SocketError error, bool expected)
    {
        var failure = new HttpRequestException(HttpRequestError.ConnectionError, "connect failed", new SocketException((int)error));

        Assert.Equal(expected, UpstreamStatus.IsRelaysOwn(failure, attemptTimedOut: false, requestWritten: false));
    }
}
