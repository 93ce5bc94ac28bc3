using System.IO.Compression;
using System.Security.Cryptography;
using Serverless.Tests.Infrastructure;
using Xunit;

namespace Serverless.Tests.Hosting;

/// <summary>The publish script produces what the Functions host loads: host.json, a folder per function, the handler binary.</summary>
[Collection(PublishedAppCollection.Name)]
public sealed class PublishLayoutTests(PublishedApp app, AzuriteFixture azurite)
{
    private const ushort ElfExecutableAtFixedAddress = 2;

    [Fact]
    public async Task Publish_ProducesFunctionsAppLayout_ThatStartsAsCustomHandler()
    {
        var ct = TestContext.Current.CancellationToken;
        var dest = app.Root;

        // host.json names the executable, which is one native Linux binary: no runtime, no managed assemblies beside it.
        var executable = app.Executable;
        Assert.True(File.Exists(executable), executable);
        if (!OperatingSystem.IsWindows())
        {
            Assert.True(File.GetUnixFileMode(executable).HasFlag(UnixFileMode.UserExecute));
        }
        var header = new byte[18];
        await using (var binary = File.OpenRead(executable))
        {
            await binary.ReadExactlyAsync(header, ct);
        }
        Assert.Equal(new byte[] { 0x7F, (byte)'E', (byte)'L', (byte)'F' }, header[..4]);
        // Linked at a fixed address (ELF type 2, not 3 for a position-independent one), so the runtime's data is used
        // where it lies instead of being relocated or decompressed at every start (Runtime.props says why).
        Assert.Equal(ElfExecutableAtFixedAddress, BitConverter.ToUInt16(header, 16));
        Assert.Empty(Directory.GetFiles(dest, "*.dll", SearchOption.AllDirectories));
        Assert.False(File.Exists(Path.Combine(dest, "libcoreclr.so")), "Native AOT: no runtime to load beside the binary");

        // One folder per function at the root, and only those.
        var repoFunctions = RepoPaths.FunctionNames();
        var publishedFunctions = Directory.GetDirectories(dest)
            .Where(d => File.Exists(Path.Combine(d, "function.json")))
            .Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(repoFunctions, publishedFunctions!);
        Assert.DoesNotContain(
            Directory.GetFiles(dest, "function.json", SearchOption.AllDirectories),
            f => Path.GetDirectoryName(Path.GetDirectoryName(f)) != dest.TrimEnd('/'));

        // The package deploy.sh uploads holds the same files at its root, the handler still executable.
        var package = app.Package;
        // The budget of issue 11 (a package of at most 40 MB; 68 MB when the handler was ReadyToRun code).
        Assert.True(new FileInfo(package).Length <= 40L * 1024 * 1024, $"the package is {new FileInfo(package).Length / (1024 * 1024)} MB");
        using (var archive = ZipFile.OpenRead(package))
        {
            var entries = archive.Entries.Where(e => !e.FullName.EndsWith('/')).ToDictionary(e => e.FullName, StringComparer.Ordinal);
            var files = Directory.GetFiles(dest, "*", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(dest, f).Replace('\\', '/')).Order(StringComparer.Ordinal).ToArray();
            Assert.Equal(files, entries.Keys.Order(StringComparer.Ordinal).ToArray());
            Assert.Contains("host.json", entries.Keys);
            Assert.All(repoFunctions, name => Assert.Contains(name + "/function.json", entries.Keys));

            // The admin UI's files, built by the publish, beside the functions.
            Assert.Contains("ui/index.html", entries.Keys);
            Assert.Contains(entries.Keys, k => k.StartsWith("ui/assets/main-", StringComparison.Ordinal) && k.EndsWith(".js", StringComparison.Ordinal));

            // ExternalAttributes carries the unix mode in its high 16 bits (zip "version made by" = unix).
            var handlerMode = (UnixFileMode)((entries["Serverless.Handler"].ExternalAttributes >> 16) & 0x1FF);
            Assert.True(handlerMode.HasFlag(UnixFileMode.UserExecute), $"the handler's mode in the zip is {handlerMode}");
            Assert.True(handlerMode.HasFlag(UnixFileMode.UserRead));
            var hostJsonMode = (UnixFileMode)((entries["host.json"].ExternalAttributes >> 16) & 0x1FF);
            Assert.False(hostJsonMode.HasFlag(UnixFileMode.UserExecute), $"host.json's mode in the zip is {hostJsonMode}");
        }

        // Started as the Functions host starts it: from the app root, with FUNCTIONS_CUSTOMHANDLER_PORT.
        var port = HandlerProcess.FreePort();
        await using var handler = await HandlerProcess.StartAsync(port, new Dictionary<string, string>
        {
            ["FUNCTIONS_CUSTOMHANDLER_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["RELAY_ENCRYPTION_KEYS"] = "k=" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
        }, TimeSpan.FromSeconds(30), executable);
        using var client = new HttpClient { BaseAddress = handler.BaseUri, Timeout = TimeSpan.FromSeconds(2) };
        using var models = await client.GetAsync("v1/models", ct);
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, models.StatusCode);
    }
}
