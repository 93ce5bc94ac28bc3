using System.Diagnostics;
using System.Reflection;
using System.Text.Json.Nodes;
using Serverless.Tests.Infrastructure;

namespace Serverless.Tests.Infra;

/// <summary>
/// The Bicep CLI from the Azure.Bicep.CommandLine.linux-x64 package (restored with the tests, see the csproj), and the
/// compiled template of infra/bicep/main.bicep, built once per run.
/// </summary>
internal static class BicepCli
{
    public static readonly string BicepFolder = Path.Combine(RepoPaths.Root, "infra", "bicep");

    private static readonly Lazy<string> Compiled = new(Compile);

    public static string Executable { get; } = Locate();

    /// <summary>The ARM JSON of main.bicep, parsed anew for each caller (a JsonNode tree is not safe to share across threads).</summary>
    public static JsonObject Template => JsonNode.Parse(Compiled.Value)!.AsObject();

    /// <summary>Runs the CLI in infra/bicep; returns its exit code and everything it wrote.</summary>
    public static (int ExitCode, string Output, string Errors) Run(params string[] arguments)
    {
        var start = new ProcessStartInfo(Executable)
        {
            WorkingDirectory = BicepFolder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // NOTE: no telemetry and no registry look-ups from a test run.
        start.Environment["BICEP_TELEMETRY_ENABLED"] = "false";
        using var process = Process.Start(start) ?? throw new InvalidOperationException("bicep did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("bicep " + string.Join(' ', arguments) + " did not finish in 3 minutes");
        }

        return (process.ExitCode, output.GetAwaiter().GetResult(), errors.GetAwaiter().GetResult());
    }

    private static string Compile()
    {
        var file = Path.Combine(Path.GetTempPath(), $"main-{Guid.NewGuid():N}.json");
        try
        {
            var (exitCode, output, errors) = Run("build", "main.bicep", "--outfile", file);
            if (exitCode != 0)
            {
                throw new InvalidOperationException($"bicep build failed ({exitCode}): {output}{errors}");
            }

            return File.ReadAllText(file);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static string Locate()
    {
        var path = typeof(BicepCli).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "BicepPath").Value;
        if (string.IsNullOrEmpty(path) || !File.Exists(path))
        {
            throw new InvalidOperationException($"the Bicep CLI is not where restore puts it: '{path}'");
        }

        // NOTE: NuGet does not promise to keep the executable bit when it extracts a package.
        if (!OperatingSystem.IsWindows() && !File.GetUnixFileMode(path).HasFlag(UnixFileMode.UserExecute))
        {
            File.SetUnixFileMode(path, File.GetUnixFileMode(path) | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        }

        return path;
    }
}
