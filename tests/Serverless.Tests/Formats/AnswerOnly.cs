using Serverless.Relay.Canonical;

namespace Serverless.Tests.Formats;

/// <summary>For tests about an answer alone: the request it answers sets nothing a format could repeat back.</summary>
internal static class AnswerOnly
{
    public static readonly ChatRequest Request = new() { Model = "m", Messages = [] };
}
