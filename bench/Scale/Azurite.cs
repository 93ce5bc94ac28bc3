using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Serverless.Bench.Scale;

/// <summary>The repository's pinned Azurite (npm), in memory, on a free port.</summary>
internal sealed partial class Azurite : IAsyncDisposable
{
    private readonly Process _process;

    private Azurite(Process process, int tablePort)
    {
        _process = process;
        ConnectionString = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
            + "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
            + $"TableEndpoint=http://127.0.0.1:{tablePort}/devstoreaccount1;";
    }

    public string ConnectionString { get; }

    public static async Task<Azurite> StartAsync(string repositoryRoot)
    {
        var script = Path.Combine(repositoryRoot, "node_modules", "azurite", "dist", "src", "azurite.js");
        if (!File.Exists(script))
        {
            throw new InvalidOperationException($"Azurite is not installed ({script}); run `npm ci` at the repository root");
        }

        var start = new ProcessStartInfo("node", [script, "--inMemoryPersistence", "--skipApiVersionCheck", "--loose", "--disableProductStyleUrl", "--blobHost", "127.0.0.1", "--blobPort", "0", "--queueHost", "127.0.0.1", "--queuePort", "0", "--tableHost", "127.0.0.1", "--tablePort", "0"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            if (ListeningAt().Match(line) is { Success: true } match)
            {
                return new Azurite(process, int.Parse(match.Groups[1].ValueSpan, System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        throw new InvalidOperationException("Azurite exited before it listened: " + await process.StandardError.ReadToEndAsync());
    }

    public async ValueTask DisposeAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
    }

    [GeneratedRegex(@"Table service is successfully listening at http://127\.0\.0\.1:(\d+)")]
    private static partial Regex ListeningAt();
}
