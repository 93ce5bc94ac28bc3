using Serverless.Handler.FunctionsHost;

namespace Serverless.Tests.Infrastructure;

/// <summary>Temporary app roots (host.json and function folders) for tests that change which functions exist.</summary>
internal static class AppRoot
{
    /// <summary>A copy of the built app root: host.json and every function.json.</summary>
    public static string Copy()
    {
        var root = Directory.CreateTempSubdirectory("approot").FullName;
        File.Copy(Path.Combine(AppContext.BaseDirectory, "host.json"), Path.Combine(root, "host.json"));
        foreach (var function in FunctionCatalog.Load(AppContext.BaseDirectory).Functions)
        {
            WriteFunction(root, function.Name, File.ReadAllText(Path.Combine(AppContext.BaseDirectory, function.Name, "function.json")));
        }

        return root;
    }

    /// <summary>An app root with host.json and no function.</summary>
    public static string Empty()
    {
        var root = Directory.CreateTempSubdirectory("approot").FullName;
        File.Copy(Path.Combine(AppContext.BaseDirectory, "host.json"), Path.Combine(root, "host.json"));
        return root;
    }

    public static void WriteFunction(string root, string name, string json)
    {
        Directory.CreateDirectory(Path.Combine(root, name));
        File.WriteAllText(Path.Combine(root, name, "function.json"), json);
    }

    /// <summary>The function.json of a Service Bus function on a session queue, as the IM functions declare it.</summary>
    public static string ServiceBusFunctionJson(string queue, string bindingName = "message") => $$"""
        {"bindings": [
          {"type": "serviceBusTrigger", "direction": "in", "name": "{{bindingName}}", "queueName": "{{queue}}",
           "connection": "ServiceBusConnection", "isSessionsEnabled": true}
        ]}
        """;
}
