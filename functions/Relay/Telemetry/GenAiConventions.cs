namespace Serverless.Relay.Telemetry;

/// <summary>
/// Names and bucket advice of the OpenTelemetry GenAI semantic conventions
/// (https://opentelemetry.io/docs/specs/semconv/gen-ai/, metrics and spans), in one place.
/// </summary>
internal static class GenAiConventions
{
    public const string OperationName = "gen_ai.operation.name";
    public const string ProviderName = "gen_ai.provider.name";
    public const string RequestModel = "gen_ai.request.model";
    public const string ResponseModel = "gen_ai.response.model";
    public const string InputTokens = "gen_ai.usage.input_tokens";
    public const string OutputTokens = "gen_ai.usage.output_tokens";
    public const string FinishReasons = "gen_ai.response.finish_reasons";
    public const string TokenType = "gen_ai.token.type";
    public const string ErrorType = "error.type";

    /// <summary>The conventions' value for "none of the known ones".</summary>
    public const string Other = "_OTHER";

    public const string TokenUsage = "gen_ai.client.token.usage";
    public const string RequestDuration = "gen_ai.server.request.duration";
    public const string TimeToFirstToken = "gen_ai.server.time_to_first_token";

    /// <summary><c>gen_ai.client.token.usage</c>: powers of 4 from 1 to 4^13.</summary>
    public static readonly IReadOnlyList<long> TokenUsageBuckets =
        [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

    /// <summary><c>gen_ai.server.request.duration</c>, seconds: doubling from 10 ms.</summary>
    public static readonly IReadOnlyList<double> RequestDurationBuckets =
        [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];

    /// <summary><c>gen_ai.server.time_to_first_token</c>, seconds.</summary>
    public static readonly IReadOnlyList<double> TimeToFirstTokenBuckets =
        [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];
}
