using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Serverless.Tests.Infrastructure;

/// <summary>
/// The handler as its own OS process, started the way the Functions host starts it (or as a user runs local mode),
/// from the build output next to the tests (which holds host.json and every function folder, like the app root) or
/// from a published app (<see cref="PublishedApp"/>).
/// </summary>
internal sealed class HandlerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _output;

    private HandlerProcess(Process process, List<string> output, Uri baseUri, TimeSpan readyAfter)
    {
        _process = process;
        _output = output;
        BaseUri = baseUri;
        ReadyAfter = readyAfter;
    }

    public Uri BaseUri { get; }

    /// <summary>From process start to the first 200 on the readiness probe.</summary>
    public TimeSpan ReadyAfter { get; }

    public int Id => _process.Id;

    /// <summary>Everything the process has written to stdout and stderr so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output);
            }
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <param name="port">The port the handler is told to use.</param>
    /// <param name="environment">Settings passed as environment variables, as app settings are in Azure.</param>
    /// <param name="executable">
    /// A published handler binary, started from its app root as the Functions host starts it (no <c>RELAY_APP_ROOT</c>:
    /// it finds its root itself); by default the build beside the tests, run by <c>dotnet</c>.
    /// </param>
    public static async Task<HandlerProcess> StartAsync(int port, IDictionary<string, string> environment, TimeSpan timeout, string? executable = null)
    {
        var start = new ProcessStartInfo(executable ?? "dotnet")
        {
            WorkingDirectory = executable is null ? AppContext.BaseDirectory : Path.GetDirectoryName(executable)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment.Remove("ASPNETCORE_URLS");
        start.Environment.Remove("FUNCTIONS_CUSTOMHANDLER_PORT");
        start.Environment.Remove("RELAY_APP_ROOT");
        if (executable is null)
        {
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Serverless.Handler.dll"));
            start.Environment["RELAY_APP_ROOT"] = AppContext.BaseDirectory;
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var stopwatch = Stopwatch.StartNew();
        var process = Process.Start(start) ?? throw new InvalidOperationException("the handler did not start");
        var output = new List<string>();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.Add(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.Add(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var baseUri = new Uri($"http://127.0.0.1:{port}/");
        using var probe = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(2) };
        while (true)
        {
            try
            {
                using var response = await probe.GetAsync("/");
                if (response.IsSuccessStatusCode)
                {
                    return new HandlerProcess(process, output, baseUri, stopwatch.Elapsed);
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // Listening but slow to answer its first request (a loaded machine): ask again, within the timeout.
            }

            if (process.HasExited || stopwatch.Elapsed > timeout)
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }

                string text;
                lock (output)
                {
                    text = string.Join('\n', output);
                }

                throw new InvalidOperationException($"the handler was not ready after {stopwatch.Elapsed}: {text}");
            }

            await Task.Delay(10);
        }
    }

    /// <summary>Sends SIGTERM, as the platform does on scale-in, and waits for a clean exit.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill!.WaitForExitAsync();
        }

        await _process.WaitForExitAsync().WaitAsync(timeout);
        return _process.ExitCode;
    }

    /// <summary>SIGKILL, as a crashed or evicted instance dies: no shutdown code runs, nothing is drained or settled.</summary>
    public async Task KillAsync(TimeSpan timeout)
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync().WaitAsync(timeout);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
