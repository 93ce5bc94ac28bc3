using System.Text;
using Serverless.Relay.Accounts;
using Serverless.Relay.Failover;
using Xunit;

namespace Serverless.Tests.Failover;

/// <summary>The one table for upstream statuses: the account's mark and the client's error kind come from the same row.</summary>
public sealed class UpstreamStatusTests
{
    [Theory]
    [InlineData(429, "", FailureKind.RateLimited, ErrorKind.RateLimited)]
    [InlineData(529, "", FailureKind.Overloaded, ErrorKind.Overloaded)]
    [InlineData(503, """{"error":{"type":"overloaded_error","message":"Overloaded"}}""", FailureKind.Overloaded, ErrorKind.Overloaded)]
    [InlineData(503, """{"error":{"message":"backend down"}}""", FailureKind.ServerError, ErrorKind.Unavailable)]
    [InlineData(500, "", FailureKind.ServerError, ErrorKind.Upstream)]
    [InlineData(502, "", FailureKind.ServerError, ErrorKind.Upstream)]
    [InlineData(504, "", FailureKind.Timeout, ErrorKind.Timeout)]
    [InlineData(408, "", FailureKind.Timeout, ErrorKind.Timeout)]
    [InlineData(401, "", FailureKind.Unauthorized, ErrorKind.Upstream)]
    [InlineData(403, "", FailureKind.Unauthorized, ErrorKind.Upstream)]
    public void Classify_AccountsFault_MarksAndMapsTogether(int status, string body, FailureKind failure, ErrorKind kind)
    {
        var classified = UpstreamStatus.Classify(status, Encoding.UTF8.GetBytes(body));

        Assert.Equal(failure, classified.Failure);
        Assert.Equal(kind, classified.Kind);
    }

    [Theory]
    [InlineData(400, ErrorKind.InvalidRequest)]
    [InlineData(422, ErrorKind.InvalidRequest)]
    [InlineData(404, ErrorKind.NotFound)]
    [InlineData(413, ErrorKind.RequestTooLarge)]
    [InlineData(418, ErrorKind.Upstream)]
    public void Classify_RequestsFault_NoMarkAndNoRetry(int status, ErrorKind kind)
    {
        var classified = UpstreamStatus.Classify(status, default);

        Assert.Null(classified.Failure);
        Assert.Equal(kind, classified.Kind);
    }
}
