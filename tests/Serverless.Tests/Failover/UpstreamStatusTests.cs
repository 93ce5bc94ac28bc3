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

    private const string KeyInvalid = """{"error":{"code":400,"message":"API key expired. Please renew the API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}}]}}""";

    [Theory]
    [InlineData(KeyInvalid)]
    [InlineData("[" + KeyInvalid + "]")] // Google's OpenAI-compatible endpoint wraps its errors in an array
    public void Classify_GoogleKeyRefusal400_MarksAndMapsLikeA401(string body)
    {
        var classified = UpstreamStatus.Classify(400, Encoding.UTF8.GetBytes(body));

        Assert.Equal(UpstreamStatus.Classify(401, default), classified);
    }

    [Theory]
    [InlineData("""{"error":{"code":400,"message":"Invalid value (TYPE_STRING), \"API_KEY_INVALID\"","status":"INVALID_ARGUMENT"}}""")]
    [InlineData("""{"error":{"code":400,"status":"INVALID_ARGUMENT","details":[{"reason":"API_KEY_INVALID","domain":"example.com"}]}}""")]
    [InlineData("""{"error":{"code":400,"status":"INVALID_ARGUMENT","details":[{"reason":"API_KEY_INVALID","domain":"googleapis.com""")]
    [InlineData("API_KEY_INVALID")]
    public void Classify_400WithoutGooglesKeyRefusal_IsTheRequestsOwn(string body)
    {
        var classified = UpstreamStatus.Classify(400, Encoding.UTF8.GetBytes(body));

        Assert.Null(classified.Failure);
        Assert.Equal(ErrorKind.InvalidRequest, classified.Kind);
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
