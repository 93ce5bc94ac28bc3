using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Serverless.Bench;

/// <summary>
/// Cold start as a client sees it: from starting the handler process to the first successful relayed chat completion
/// (key and account read from storage, the upstream called, every code path jitted on the way). Repeated; the median
/// is what counts. Settings (storage, encryption keys) come from this process's environment.
/// </summary>
internal static class ColdStart
{
    public static async Task<int> RunAsync(CommandLine options)
    {
        var exe = options.Required("exe");
        var key = options.Required("key");
        var runs = options.Int("runs", 5);
        var cpu = options.Optional("cpu");
        var body = RequestBodies.Build(RequestBodies.Model, stream: false);
        var firstOk = new List<double>();
        var listening = new List<double>();
        var cpuTimes = new List<double>();
        string? error = null;

        for (var run = 0; run < runs && error is null; run++)
        {
            var port = FreePort();
            var start = cpu is null ? new ProcessStartInfo(exe) : new ProcessStartInfo("taskset") { ArgumentList = { "-c", cpu, exe } };
            start.ArgumentList.Add("--urls");
            start.ArgumentList.Add($"http://127.0.0.1:{port}");
            start.WorkingDirectory = Path.GetDirectoryName(Path.GetFullPath(exe));
            start.RedirectStandardOutput = true;
            start.RedirectStandardError = true;
            start.Environment.Remove("ASPNETCORE_URLS");
            start.Environment.Remove("FUNCTIONS_CUSTOMHANDLER_PORT");

            using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.Zero })
            {
                Timeout = TimeSpan.FromSeconds(30),
            };
            var url = $"http://127.0.0.1:{port}/v1/chat/completions";
            var clock = Stopwatch.StartNew();
            using var process = Process.Start(start) ?? throw new InvalidOperationException("the handler did not start");
            process.OutputDataReceived += static (_, _) => { };
            process.ErrorDataReceived += static (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            double? heard = null;
            try
            {
                while (true)
                {
                    if (process.HasExited)
                    {
                        error = $"the handler exited with {process.ExitCode}";
                        break;
                    }

                    if (clock.Elapsed > TimeSpan.FromSeconds(30))
                    {
                        error = "no successful response within 30 s";
                        break;
                    }

                    try
                    {
                        // First the readiness probe the Functions host uses (GET /), then the relayed call: the two
                        // times split start-up (runtime, DI, Kestrel) from the first request (JIT, key and account reads).
                        if (heard is null)
                        {
                            using var probe = await http.GetAsync($"http://127.0.0.1:{port}/");
                            if (probe.IsSuccessStatusCode)
                            {
                                heard = clock.Elapsed.TotalMilliseconds;
                            }
                        }
                        else
                        {
                            using var request = Requests.Post(url, [KeyValuePair.Create("Authorization", "Bearer " + key)], body);
                            using var response = await http.SendAsync(request);
                            if (response.IsSuccessStatusCode)
                            {
                                await response.Content.ReadAsByteArrayAsync();
                                firstOk.Add(clock.Elapsed.TotalMilliseconds);
                                listening.Add(heard.Value);
                                cpuTimes.Add(CpuMs(process.Id));
                                break;
                            }
                        }
                    }
                    catch (HttpRequestException)
                    {
                        // Not listening yet.
                    }

                    await Task.Delay(2);
                }
            }
            finally
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }

        Console.WriteLine(JsonSerializer.Serialize(new
        {
            runs = firstOk.Count,
            first_ok_ms = firstOk,
            first_ok_median = Stats.Median(firstOk),
            first_ok_min = firstOk.Count > 0 ? firstOk.Min() : 0,
            first_ok_max = firstOk.Count > 0 ? firstOk.Max() : 0,
            ready_median = Stats.Median(listening),
            cpu_ms = cpuTimes,
            cpu_median = Stats.Median(cpuTimes),
            error,
        }));
        return error is null ? 0 : 1;
    }

    /// <summary>
    /// CPU time (user + system) the process has used so far, in ms: unlike wall time it does not grow when a noisy
    /// neighbour takes the core, so it bounds what the cold start would be on a quiet machine (plus I/O waits).
    /// </summary>
    private static double CpuMs(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // After the command name: state is field 3, so utime (14) and stime (15) are at 11 and 12 here.
            const double ticksPerSecond = 100; // USER_HZ on Linux
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) * 1000 / ticksPerSecond;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    internal static string Ms(double value) => value.ToString("0.0", CultureInfo.InvariantCulture);
}
