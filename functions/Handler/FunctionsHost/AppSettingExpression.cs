namespace Serverless.Handler.FunctionsHost;

/// <summary>A <c>function.json</c> value written <c>%Name%</c> reads the app setting <c>Name</c>, as the Functions host does.</summary>
internal static class AppSettingExpression
{
    /// <param name="what">What the value is, for the error: "schedule", "queue".</param>
    public static string Resolve(string value, string what, IConfiguration configuration) =>
        value.Length > 2 && value[0] == '%' && value[^1] == '%'
            ? configuration[value[1..^1]] ?? throw new FunctionCatalogException($"the {what} setting '{value[1..^1]}' is not set")
            : value;
}
