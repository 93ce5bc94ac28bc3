using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit;

[assembly: AssemblyFixture(typeof(Serverless.Tests.Infrastructure.AzuriteFixture))]

namespace Serverless.Tests.Infrastructure;

/// <summary>
/// One Azurite per test run, from the repo's pinned npm package: in memory, random ports, <c>--skipApiVersionCheck</c>
/// (the current SDKs send API versions Azurite does not list yet). Tests isolate themselves with their own table names.
/// </summary>
public sealed partial class AzuriteFixture : IAsyncLifetime
{
    private Process? _process;

    public int TablePort { get; private set; }

    public int QueuePort { get; private set; }

    public int BlobPort { get; private set; }

    /// <summary>A connection string in the form <c>AzureWebJobsStorage</c> takes.</summary>
    public string ConnectionString =>
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
        "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
        $"BlobEndpoint=http://127.0.0.1:{BlobPort}/devstoreaccount1;" +
        $"QueueEndpoint=http://127.0.0.1:{QueuePort}/devstoreaccount1;" +
        $"TableEndpoint=http://127.0.0.1:{TablePort}/devstoreaccount1;";

    public async ValueTask InitializeAsync()
    {
        var script = Path.Combine(RepoPaths.Root, "node_modules", "azurite", "dist", "src", "azurite.js");
        if (!File.Exists(script))
        {
            throw new InvalidOperationException($"Azurite is not installed: run `npm ci` in {RepoPaths.Root} first.");
        }

        var start = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
                 {
                     script, "--inMemoryPersistence", "--skipApiVersionCheck", "--loose", "--disableProductStyleUrl",
                     "--blobHost", "127.0.0.1", "--blobPort", "0",
                     "--queueHost", "127.0.0.1", "--queuePort", "0",
                     "--tableHost", "127.0.0.1", "--tablePort", "0",
                 })
        {
            start.ArgumentList.Add(arg);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            var match = ListeningLine().Match(e.Data);
            if (match.Success)
            {
                var port = int.Parse(match.Groups["port"].Value, System.Globalization.CultureInfo.InvariantCulture);
                switch (match.Groups["service"].Value)
                {
                    case "Blob": BlobPort = port; break;
                    case "Queue": QueuePort = port; break;
                    case "Table": TablePort = port; break;
                }

                if (BlobPort != 0 && QueuePort != 0 && TablePort != 0)
                {
                    ready.TrySetResult();
                }
            }
        };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        await ready.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    public ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }

        _process?.Dispose();
        return ValueTask.CompletedTask;
    }

    [GeneratedRegex(@"Azurite (?<service>Blob|Queue|Table) service is successfully listening at http://[^:]+:(?<port>\d+)")]
    private static partial Regex ListeningLine();
}
