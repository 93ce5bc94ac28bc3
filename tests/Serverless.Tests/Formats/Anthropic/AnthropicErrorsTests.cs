using System.Text.Json;
using Serverless.Relay.Formats;
using Serverless.Relay.Formats.Anthropic;
using Xunit;

namespace Serverless.Tests.Formats.Anthropic;

public sealed class AnthropicErrorsTests
{
    [Theory]
    [InlineData(ErrorKind.InvalidRequest, 400, "invalid_request_error")]
    [InlineData(ErrorKind.Authentication, 401, "authentication_error")]
    [InlineData(ErrorKind.PermissionDenied, 403, "permission_error")]
    [InlineData(ErrorKind.NotFound, 404, "not_found_error")]
    [InlineData(ErrorKind.RequestTooLarge, 413, "request_too_large")]
    [InlineData(ErrorKind.RateLimited, 429, "rate_limit_error")]
    [InlineData(ErrorKind.Upstream, 502, "api_error")]
    [InlineData(ErrorKind.Overloaded, 529, "overloaded_error")]
    [InlineData(ErrorKind.Unavailable, 503, "api_error")]
    [InlineData(ErrorKind.Timeout, 504, "timeout_error")]
    [InlineData(ErrorKind.Internal, 500, "api_error")]
    public void WriteError_EachKind_HasStatusAndType(object kind, int status, string type)
    {
        var error = new RelayError((ErrorKind)kind, "Something \"quoted\" happened");

        var json = AnthropicTestJson.Write(writer => AnthropicFormat.Instance.WriteError(error, writer));

        Assert.Equal(status, AnthropicFormat.Instance.StatusCodeOf(error));
        Assert.Equal($$$"""{"type":"error","error":{"type":"{{{type}}}","message":"Something \"quoted\" happened"}}""", json);
    }

    [Fact]
    public void StatusCodeOf_UpstreamStatusSet_ReturnsIt()
    {
        var error = new RelayError(ErrorKind.Upstream, "billing") { UpstreamStatus = 402 };

        Assert.Equal(402, AnthropicFormat.Instance.StatusCodeOf(error));
    }

    [Theory]
    [InlineData("""{"type":"error","error":{"type":"not_found_error","message":"model: claude-x"},"request_id":"req_1"}""", "model: claude-x")]
    [InlineData("""{"error":{"message":"no type"}}""", "no type")]
    [InlineData("""{"error":"flat"}""", null)]
    [InlineData("""["error"]""", null)]
    public void ReadErrorMessage_Body_ReturnsErrorMessageOrNull(string body, string? expected)
    {
        Assert.Equal(expected, AnthropicFormat.Instance.ReadErrorMessage(AnthropicTestJson.Parse(body)));
    }

    [Theory]
    [InlineData(ErrorKind.InvalidRequest)]
    [InlineData(ErrorKind.RateLimited)]
    [InlineData(ErrorKind.Overloaded)]
    [InlineData(ErrorKind.Timeout)]
    [InlineData(ErrorKind.Upstream)]
    public void WriteError_AnthropicSdk_DeserializesAndValidates(object kind)
    {
        var json = AnthropicTestJson.Write(writer => AnthropicFormat.Instance.WriteError(new RelayError((ErrorKind)kind, "boom"), writer));

        var response = JsonSerializer.Deserialize<global::Anthropic.Models.ErrorResponse>(json)!;
        response.Validate();

        Assert.Equal("boom", response.Error.Json.GetProperty("message").GetString());
    }

    [Fact]
    public void Format_IsAnthropic()
    {
        Assert.Equal(WireFormat.Anthropic, AnthropicFormat.Instance.Format);
    }
}
