using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Serverless.Tests.Infrastructure;

/// <summary>Keeps every line its loggers write, for tests that count what a component logged.</summary>
internal sealed class RecordedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<Line> _lines = new();
    private readonly LoggerFactory _factory;

    public RecordedLogs()
    {
        _factory = new LoggerFactory([this]);
    }

    public sealed record Line(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception);

    public IReadOnlyList<Line> Lines => [.. _lines];

    public ILogger<T> For<T>() => _factory.CreateLogger<T>();

    public ILogger CreateLogger(string categoryName) => new Recorder(categoryName, _lines);

    public void Dispose()
    {
    }

    private sealed class Recorder(string category, ConcurrentQueue<Line> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue(new Line(category, logLevel, eventId, formatter(state, exception), exception));
    }
}
