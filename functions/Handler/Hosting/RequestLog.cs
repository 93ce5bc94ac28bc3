using System.Diagnostics;

namespace Serverless.Handler.Hosting;

/// <summary>
/// One log line per request with the path only. NOTE: ASP.NET Core's own request log
/// (<c>Microsoft.AspNetCore.Hosting.Diagnostics</c>) prints the query string, and Gemini clients send their key as
/// <c>?key=</c>, so relay keys ended up on stdout (issue 8). That category is off whatever the configuration says, and
/// this line takes its place.
/// </summary>
/// <remarks>
/// NOTE: off, not at Warning. While that category logs anything at all, ASP.NET Core starts an activity for every
/// request (for the log scope's ids), HttpClient a child of it for the upstream call, which also writes a
/// <c>traceparent</c> into every upstream request: with no trace exporter, 10 % of the relay's allocations and 6–8 %
/// of its CPU per request (bench/ANALYSIS.md, "Activities nobody listened to"). With a trace exporter the activities
/// are started for the exporter's listener, sampled, as before. What the category logs at Warning and above is the web
/// host's own start-up failure, whose exception ends the process and is printed anyway.
/// </remarks>
internal static partial class RequestLog
{
    internal const string FrameworkCategory = "Microsoft.AspNetCore.Hosting.Diagnostics";

    /// <summary>Turns the framework's request log off; a filter added in code outranks the configuration's.</summary>
    public static void SilenceFrameworkRequestLog(this ILoggingBuilder logging) => logging.AddFilter(FrameworkCategory, LogLevel.None);

    /// <summary>Logs method, path (never the query), status and duration of every request.</summary>
    public static void UseRequestLog(this WebApplication app)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Serverless.Handler.Requests");
        if (!logger.IsEnabled(LogLevel.Information))
        {
            return;
        }

        app.Use(async (context, next) =>
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                await next(context);
            }
            finally
            {
                var elapsedMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                Log.Answered(logger, context.Request.Method, context.Request.Path.Value ?? "", context.Response.StatusCode, elapsedMs);
            }
        });
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "{Method} {Path} answered {Status} in {ElapsedMs:0.0} ms")]
        public static partial void Answered(ILogger logger, string method, string path, int status, double elapsedMs);
    }
}
