using System.Text;
using Serverless.Relay.Accounts;
using Serverless.Relay.Failover;
using Xunit;

namespace Serverless.Tests.Failover;

/// <summary>The one table for upstream statuses: the account's mark and the client's error kind come from the same row.</summary>
public sealed class UpstreamStatusTests
{
    [Theory]
    [InlineData(429, "", "RateLimited", "RateLimited")]
    [InlineData(529, "", "Overloaded", "Overloaded")]
    [InlineData(503, """{"error":{"type":"overloaded_error","message":"Overloaded"}}""", "Overloaded", "Overloaded")]
    [InlineData(503, """{"error":{"message":"backend down"}}""", "ServerError", "Unavailable")]
    [InlineData(500, "", "ServerError", "Upstream")]
    [InlineData(502, "", "ServerError", "Upstream")]
    [InlineData(504, "", "Timeout", "Timeout")]
    [InlineData(408, "", "Timeout", "Timeout")]
    [InlineData(401, "", "Unauthorized", "Upstream")]
    [InlineData(403, "", "Unauthorized", "Upstream")]
    public void Classify_AccountsFault_MarksAndMapsTogether(int status, string body, string failure, string kind)
    {
        var classified = UpstreamStatus.Classify(status, Encoding.UTF8.GetBytes(body));

        Assert.Equal(Enum.Parse<FailureKind>(failure), classified.Failure);
        Assert.Equal(Enum.Parse<ErrorKind>(kind), classified.Kind);
    }

    [Theory]
    [InlineData(400, "InvalidRequest")]
    [InlineData(422, "InvalidRequest")]
    [InlineData(404, "NotFound")]
    [InlineData(413, "RequestTooLarge")]
    [InlineData(418, "Upstream")]
    public void Classify_RequestsFault_NoMarkAndNoRetry(int status, string kind)
    {
        var classified = UpstreamStatus.Classify(status, default);

        Assert.Null(classified.Failure);
        Assert.Equal(Enum.Parse<ErrorKind>(kind), classified.Kind);
    }
}
