namespace Serverless.Handler.Hosting;

/// <summary>The settings cannot work: the handler refuses to start, and its message says what to set.</summary>
public sealed class HandlerSettingsException(string message) : Exception(message);
