using Serverless.Relay.Formats;

namespace Serverless.Relay.Relaying;

/// <summary>A client API the relay serves: its function name, its wire format and the name usage rows record.</summary>
internal sealed record ClientApi(string FunctionName, IChatFormat Format, string UsageName)
{
    /// <summary>What its upstream call is for: a chat, unless the API asks something else of the same upstream (a compaction).</summary>
    public UpstreamOperation Operation { get; init; } = UpstreamOperation.Chat;
}
