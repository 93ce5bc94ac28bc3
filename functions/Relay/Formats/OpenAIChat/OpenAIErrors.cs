using System.Text.Json;

namespace Serverless.Relay.Formats.OpenAIChat;

/// <summary>
/// OpenAI's error shape, <c>{"error":{"message","type","param","code"}}</c>, shared by Chat Completions, Responses,
/// the model list and the admin API.
/// </summary>
internal static class OpenAIErrors
{
    public static int StatusCodeOf(RelayError error) => error.StatusCode;

    public static void Write(RelayError error, Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        WriteErrorProperty(error, writer);
        writer.WriteEndObject();
    }

    /// <summary>Writes the <c>"error": {...}</c> property alone (stream error chunks embed it).</summary>
    public static void WriteErrorProperty(RelayError error, Utf8JsonWriter writer)
    {
        writer.WriteStartObject("error");
        writer.WriteString("message", error.Message);
        writer.WriteString("type", TypeOf(error.Kind));
        if (error.Param is null)
        {
            writer.WriteNull("param");
        }
        else
        {
            writer.WriteString("param", error.Param);
        }

        var code = CodeOf(error);
        if (code is null)
        {
            writer.WriteNull("code");
        }
        else
        {
            writer.WriteString("code", code);
        }

        writer.WriteEndObject();
    }

    public static string TypeOf(ErrorKind kind) => kind switch
    {
        ErrorKind.InvalidRequest or ErrorKind.NotFound or ErrorKind.RequestTooLarge => "invalid_request_error",
        ErrorKind.Authentication => "authentication_error",
        ErrorKind.PermissionDenied => "permission_error",
        ErrorKind.RateLimited => "rate_limit_error",
        ErrorKind.Timeout => "timeout_error",
        _ => "server_error",
    };

    public static string? CodeOf(RelayError error) => error.Code ?? error.Kind switch
    {
        ErrorKind.Authentication => "invalid_api_key",
        ErrorKind.NotFound when error.Param == "model" => "model_not_found",
        ErrorKind.RateLimited => "rate_limit_exceeded",
        ErrorKind.Overloaded or ErrorKind.Unavailable => "service_unavailable",
        _ => null,
    };
}
