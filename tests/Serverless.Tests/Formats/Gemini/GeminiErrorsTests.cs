using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Gemini;
using static Serverless.Tests.Formats.Gemini.GeminiTestJson;
using Xunit;

namespace Serverless.Tests.Formats.Gemini;

public sealed class GeminiErrorsTests
{
    [Theory]
    [InlineData(nameof(ErrorKind.InvalidRequest), 400, "INVALID_ARGUMENT")]
    [InlineData(nameof(ErrorKind.Authentication), 401, "UNAUTHENTICATED")]
    [InlineData(nameof(ErrorKind.PermissionDenied), 403, "PERMISSION_DENIED")]
    [InlineData(nameof(ErrorKind.NotFound), 404, "NOT_FOUND")]
    [InlineData(nameof(ErrorKind.RequestTooLarge), 413, "INVALID_ARGUMENT")]
    [InlineData(nameof(ErrorKind.RateLimited), 429, "RESOURCE_EXHAUSTED")]
    [InlineData(nameof(ErrorKind.Upstream), 502, "INTERNAL")]
    [InlineData(nameof(ErrorKind.Overloaded), 503, "UNAVAILABLE")]
    [InlineData(nameof(ErrorKind.Unavailable), 503, "UNAVAILABLE")]
    [InlineData(nameof(ErrorKind.Timeout), 504, "DEADLINE_EXCEEDED")]
    [InlineData(nameof(ErrorKind.Internal), 500, "INTERNAL")]
    public void WriteError_Kind_MapsToStatusAndGoogleCode(string kindName, int status, string code)
    {
        var kind = Enum.Parse<ErrorKind>(kindName);
        var error = new RelayError(kind, "Something \"quoted\" happened.");

        Assert.Equal(status, GeminiFormat.Instance.StatusCodeOf(error));
        Assert.Equal(
            "{\"error\":{\"code\":" + status + ",\"message\":\"Something \\\"quoted\\\" happened.\",\"status\":\"" + code + "\"}}",
            Write(writer => GeminiFormat.Instance.WriteError(error, writer)));
    }

    [Fact]
    public void WriteError_UpstreamStatus_IsHonoured()
    {
        var error = new RelayError(ErrorKind.Upstream, "Quota exceeded.") { UpstreamStatus = 429 };

        Assert.Equal(429, GeminiFormat.Instance.StatusCodeOf(error));
        Assert.Equal(
            Q("{'error':{'code':429,'message':'Quota exceeded.','status':'RESOURCE_EXHAUSTED'}}"),
            Write(writer => GeminiFormat.Instance.WriteError(error, writer)));
    }

    [Theory]
    [InlineData(30.0, "30s")]
    [InlineData(0.2, "1s")]
    [InlineData(59.01, "60s")]
    public void WriteError_RetryAfter_AddsRetryInfoDetailInWholeSeconds(double seconds, string delay)
    {
        // Gemini CLI (googleQuotaErrors.ts) reads the wait from a google.rpc.RetryInfo detail, not the Retry-After header.
        var error = new RelayError(ErrorKind.RateLimited, "Slow down.") { RetryAfter = TimeSpan.FromSeconds(seconds) };

        Assert.Equal(
            Q("{'error':{'code':429,'message':'Slow down.','status':'RESOURCE_EXHAUSTED','details':[{'@type':'type.googleapis.com/google.rpc.RetryInfo','retryDelay':'" + delay + "'}]}}"),
            Write(writer => GeminiFormat.Instance.WriteError(error, writer)));
    }

    [Theory]
    [InlineData("""{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT"}}""", "API key not valid. Please pass a valid API key.")]
    [InlineData("""[{"error":{"code":400,"message":"x"}}]""", null)]
    [InlineData("""{"message":"x"}""", null)]
    [InlineData("""{"error":"x"}""", null)]
    public void ReadErrorMessage_Body_ReturnsErrorMessage(string body, string? expected)
    {
        Assert.Equal(expected, GeminiFormat.Instance.ReadErrorMessage(Parse(body)));
    }

    [Fact]
    public void Format_Identity_IsGeminiSingleton()
    {
        Assert.Equal(WireFormat.Gemini, GeminiFormat.Instance.Format);
        Assert.Same(GeminiFormat.Instance, GeminiFormat.Instance);
    }
}
