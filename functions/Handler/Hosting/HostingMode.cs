namespace Serverless.Handler.Hosting;

/// <summary>How the handler was started.</summary>
internal enum HostingMode
{
    /// <summary>Started by the Functions host, which sets <c>FUNCTIONS_CUSTOMHANDLER_PORT</c>.</summary>
    CustomHandler,

    /// <summary>No Functions host: the handler plays its part on http://localhost:7071.</summary>
    Local,
}
