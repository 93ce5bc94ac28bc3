using System.Text.Json;
using Serverless.Relay.Functions;

namespace Serverless.Handler.FunctionsHost;

/// <summary>
/// A timer function behind the Functions host, through <see cref="JsonInvocation"/>:
/// <c>Data.&lt;binding&gt;</c> is <c>{"Schedule":{}, "ScheduleStatus":{"Last","Next","LastUpdated"}, "IsPastDue"}</c>.
/// </summary>
internal static class TimerInvocation
{
    public static void MapTimer(this WebApplication app, string functionName, string bindingName, ITimerFunction entry, TimeSpan deadline) =>
        app.MapInvocation(functionName, deadline, (root, ct) => entry.RunAsync(Read(root, bindingName), ct));

    /// <summary>The timer value of <c>Data.&lt;binding&gt;</c>; tolerates it arriving as a JSON string (encoded twice).</summary>
    internal static TimerInfo Read(JsonElement root, string bindingName)
    {
        if (JsonInvocation.DataText(root, bindingName) is not { } text)
        {
            return new TimerInfo(false, null, null);
        }

        using var timer = JsonDocument.Parse(text);
        return ReadTimer(timer.RootElement);
    }

    private static TimerInfo ReadTimer(JsonElement timer)
    {
        if (timer.ValueKind != JsonValueKind.Object)
        {
            return new TimerInfo(false, null, null);
        }

        var pastDue = timer.TryGetProperty("IsPastDue", out var due) && due.ValueKind == JsonValueKind.True;
        DateTimeOffset? last = null, next = null;
        if (timer.TryGetProperty("ScheduleStatus", out var status) && status.ValueKind == JsonValueKind.Object)
        {
            last = status.TryGetProperty("Last", out var l) && l.TryGetDateTimeOffset(out var lv) ? lv : null;
            next = status.TryGetProperty("Next", out var n) && n.TryGetDateTimeOffset(out var nv) ? nv : null;
        }

        return new TimerInfo(pastDue, last, next);
    }
}
