using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Serverless.Relay.Telemetry;

/// <summary>
/// The span and the metrics of the GenAI semantic conventions for every relayed request: a span named
/// "{operation} {model}" and the histograms <c>gen_ai.client.token.usage</c>, <c>gen_ai.server.request.duration</c> and
/// <c>gen_ai.server.time_to_first_token</c>, with the conventions' bucket advice.
/// </summary>
/// <remarks>
/// NOTE: the hot path pays nothing when no SDK listens: <see cref="StartRequest"/> checks
/// <see cref="ActivitySource.HasListeners"/> before building a name, and <see cref="Complete"/> checks each
/// instrument's <see cref="Instrument.Enabled"/> before building a tag list.
/// </remarks>
internal sealed class GenAiTelemetry
{
    private static readonly object InputType = "input";
    private static readonly object OutputType = "output";

    private readonly Histogram<long> _tokenUsage;
    private readonly Histogram<double> _duration;
    private readonly Histogram<double> _timeToFirstToken;

    public GenAiTelemetry(Meter meter)
    {
        _tokenUsage = meter.CreateHistogram(
            GenAiConventions.TokenUsage,
            unit: "{token}",
            description: "Number of input and output tokens used.",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = GenAiConventions.TokenUsageBuckets });
        _duration = meter.CreateHistogram(
            GenAiConventions.RequestDuration,
            unit: "s",
            description: "Time from the request's arrival to the last byte of its answer.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = GenAiConventions.RequestDurationBuckets });
        _timeToFirstToken = meter.CreateHistogram(
            GenAiConventions.TimeToFirstToken,
            unit: "s",
            description: "Time from the request's arrival to the first byte of a successful answer.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = GenAiConventions.TimeToFirstTokenBuckets });
    }

    /// <summary>
    /// Starts the request's span as a child of the current activity (ASP.NET Core's own request activity, which carries
    /// a client's <c>traceparent</c>); null when nothing listens or the sampler drops it.
    /// </summary>
    public static Activity? StartRequest(string operation, string requestModel, string requestId)
    {
        // NOTE: no span under a request activity the sampler dropped (propagation only): a parent-based sampler drops
        // its children too, so the span would be created, carried as Activity.Current through every await and thrown
        // away, on nearly every request under load (bench/ANALYSIS.md, "Telemetry paired against a table sink").
        if (!RelayTelemetry.Source.HasListeners() || Activity.Current is { IsAllDataRequested: false })
        {
            return null;
        }

        var name = requestModel.Length == 0 ? operation : operation + " " + requestModel;
        var activity = RelayTelemetry.Source.StartActivity(name, ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(GenAiConventions.OperationName, operation);
            activity.SetTag(GenAiConventions.RequestModel, requestModel);
            activity.SetTag("relay.request_id", requestId);
        }

        return activity;
    }

    /// <summary>Ends the span (if any) with what the request did, and records the request's metrics.</summary>
    public void Complete(Activity? activity, in GenAiRequest request)
    {
        if (activity is not null)
        {
            if (activity.IsAllDataRequested)
            {
                Describe(activity, request);
            }

            activity.Dispose();
        }

        if (_duration.Enabled)
        {
            var tags = Tags(request);
            if (request.ErrorType is { } error)
            {
                tags.Add(GenAiConventions.ErrorType, error);
            }

            _duration.Record(request.Duration.TotalSeconds, tags);
        }

        if (_timeToFirstToken.Enabled && request.ErrorType is null && request.TimeToFirstToken is { } first)
        {
            _timeToFirstToken.Record(first.TotalSeconds, Tags(request));
        }

        // Only what the upstream reported: a refused or failed request used no tokens worth a measurement.
        if (_tokenUsage.Enabled && (request.InputTokens > 0 || request.OutputTokens > 0))
        {
            var tags = Tags(request);
            tags.Add(GenAiConventions.TokenType, InputType);
            _tokenUsage.Record(request.InputTokens, tags);
            tags = Tags(request);
            tags.Add(GenAiConventions.TokenType, OutputType);
            _tokenUsage.Record(request.OutputTokens, tags);
        }
    }

    private static void Describe(Activity activity, in GenAiRequest request)
    {
        activity.SetTag(GenAiConventions.ProviderName, request.Provider);
        activity.SetTag(GenAiConventions.ResponseModel, request.ResponseModel);
        activity.SetTag(GenAiConventions.InputTokens, request.InputTokens);
        activity.SetTag(GenAiConventions.OutputTokens, request.OutputTokens);
        if (request.FinishReason is { } reason)
        {
            activity.SetTag(GenAiConventions.FinishReasons, new[] { reason });
        }

        if (request.ErrorType is { } error)
        {
            activity.SetTag(GenAiConventions.ErrorType, error);
            activity.SetStatus(ActivityStatusCode.Error);
        }
    }

    private static TagList Tags(in GenAiRequest request)
    {
        // NOTE: the model a client asked for is its own text until an account serves it: a metric labelled with it
        // would grow a series per invented name. Requests that reached no account share one label value.
        var tags = new TagList
        {
            { GenAiConventions.OperationName, request.Operation },
            { GenAiConventions.RequestModel, request.Provider is null ? GenAiConventions.Other : request.RequestModel },
        };
        if (request.Provider is { } provider)
        {
            tags.Add(GenAiConventions.ProviderName, provider);
        }

        if (request.ResponseModel is { } model)
        {
            tags.Add(GenAiConventions.ResponseModel, model);
        }

        return tags;
    }
}
