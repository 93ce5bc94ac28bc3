namespace Serverless.Tests.Infrastructure;

/// <summary>Locates the repository root (the folder holding Serverless.sln) from the test binary.</summary>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>The functions the source declares: <c>functions/&lt;Area&gt;/Functions/&lt;Name&gt;/function.json</c>, sorted by name.</summary>
    public static string[] FunctionNames() =>
        Directory.GetDirectories(Path.Combine(Root, "functions"))
            .Select(area => Path.Combine(area, "Functions"))
            .Where(Directory.Exists)
            .SelectMany(Directory.GetDirectories)
            .Where(dir => File.Exists(Path.Combine(dir, "function.json")))
            .Select(dir => Path.GetFileName(dir))
            .Order(StringComparer.Ordinal)
            .ToArray();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Serverless.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Serverless.sln not found above " + AppContext.BaseDirectory);
    }
}
