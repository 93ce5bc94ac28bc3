namespace Serverless.Tests.Infrastructure;

/// <summary>Locates the repository root (the folder holding Serverless.sln) from the test binary.</summary>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

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
