using System.Diagnostics;
using OpenTelemetry;

namespace Serverless.Handler.Telemetry;

/// <summary>
/// Drops URL queries from the HTTP spans before they are exported. A query can hold a credential: a Gemini client sends
/// its relay key as <c>?key=</c>, and the relay calls Gemini upstream the same way. The framework redacts query values
/// of client spans only; the relay drops every query rather than rely on that. Runs for recorded spans only.
/// </summary>
internal sealed class UrlQueryRedaction : BaseProcessor<Activity>
{
    public override void OnEnd(Activity data)
    {
        if (data.GetTagItem("url.query") is not null)
        {
            data.SetTag("url.query", null);
        }

        if (data.GetTagItem("url.full") is string full && full.IndexOf('?', StringComparison.Ordinal) is var query and >= 0)
        {
            data.SetTag("url.full", full[..query]);
        }
    }
}
