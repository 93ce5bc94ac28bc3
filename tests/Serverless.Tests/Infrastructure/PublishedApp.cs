using System.Diagnostics;
using System.Text.Json.Nodes;
using Xunit;

namespace Serverless.Tests.Infrastructure;

/// <summary>
/// The app as it is deployed, published once for the tests that need it by <c>scripts/publish.sh</c>: host.json, the
/// function folders and the handler compiled to native code (Native AOT), and the zip package beside them.
/// </summary>
public sealed class PublishedApp : IAsyncLifetime
{
    /// <summary>The app root (what the package unpacks to).</summary>
    public string Root { get; } = Directory.CreateTempSubdirectory("publish").FullName;

    /// <summary>The zip <c>scripts/deploy.sh</c> uploads.</summary>
    public string Package => Root + ".zip";

    /// <summary>The handler binary host.json names.</summary>
    public string Executable { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        using var publish = Process.Start(new ProcessStartInfo("bash", [Path.Combine(RepoPaths.Root, "scripts", "publish.sh"), Root])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var output = publish.StandardOutput.ReadToEndAsync();
        var errors = publish.StandardError.ReadToEndAsync();
        // NOTE: a native compile of the whole app plus the zip takes minutes on a loaded two-core machine.
        await publish.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(15));
        if (publish.ExitCode != 0)
        {
            throw new InvalidOperationException($"scripts/publish.sh failed ({publish.ExitCode}): {await output}{await errors}");
        }

        var hostJson = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(Root, "host.json")))!;
        Executable = Path.Combine(Root, (string)hostJson["customHandler"]!["description"]!["defaultExecutablePath"]!);
    }

    public ValueTask DisposeAsync()
    {
        Directory.Delete(Root, recursive: true);
        File.Delete(Package);
        return ValueTask.CompletedTask;
    }
}

/// <summary>Tests of the published app share one publish and run one class at a time.</summary>
[CollectionDefinition(Name)]
public sealed class PublishedAppCollection : ICollectionFixture<PublishedApp>
{
    public const string Name = "published app";
}
