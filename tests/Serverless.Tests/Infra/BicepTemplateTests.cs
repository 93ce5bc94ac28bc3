using System.Security.Cryptography;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Serverless.Handler.Hosting;
using Serverless.Relay.Connections;
using Serverless.Tests.Infrastructure;
using Xunit;

namespace Serverless.Tests.Infra;

/// <summary>infra/bicep compiles cleanly with the packaged Bicep CLI, and the compiled template fits the app.</summary>
public sealed partial class BicepTemplateTests
{
    private const string IdentityType = "Microsoft.ManagedIdentity/userAssignedIdentities";

    /// <summary>The queues the IM issue names; function.json serviceBusTrigger bindings add theirs.</summary>
    private static readonly string[] IssueQueues = ["im-inbound", "im-outbound"];

    /// <summary>Built-in role ids the identity needs, by the app setting prefix that shows the app uses the service.</summary>
    private static readonly (string SettingPrefix, string Role, string RoleId)[] RequiredRoles =
    [
        ("AzureWebJobsStorage__", "Storage Blob Data Owner", "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"),
        ("AzureWebJobsStorage__", "Storage Queue Data Contributor", "974c5e8b-45b9-4653-ba55-5f855dd0fb88"),
        ("AzureWebJobsStorage__", "Storage Table Data Contributor", "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"),
        ("ServiceBusConnection__", "Azure Service Bus Data Sender", "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39"),
        ("ServiceBusConnection__", "Azure Service Bus Data Receiver", "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0"),
        ("ServiceBusConnection__", "Azure Service Bus Data Owner", "090c5cfd-751d-490a-894a-3ce6f1109419"),
        ("@Microsoft.KeyVault(", "Key Vault Secrets User", "4633458b-17de-408a-b874-0445c86b69e6"),
        ("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", "Monitoring Metrics Publisher", "3913510d-42f4-4e42-8a64-420c390055eb"),
    ];

    private static readonly string[] DeprecatedSettings = ["FUNCTIONS_WORKER_RUNTIME", "WEBSITE_RUN_FROM_PACKAGE", "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING", "WEBSITE_CONTENTSHARE", "WEBSITE_TIME_ZONE", "AzureWebJobsStorage"];

    [Theory]
    [InlineData("main.bicep")]
    [InlineData("modules/network.bicep")]
    public void Build_EveryBicepFile_CompilesWithoutDiagnostics(string file)
    {
        var outFile = Path.Combine(Path.GetTempPath(), $"bicep-{Guid.NewGuid():N}.json");
        try
        {
            var (exitCode, output, errors) = BicepCli.Run("build", file, "--outfile", outFile);

            Assert.True(exitCode == 0, output + errors);
            Assert.Equal("", (output + errors).Trim());
        }
        finally
        {
            File.Delete(outFile);
        }
    }

    [Theory]
    [InlineData("main.bicep")]
    [InlineData("modules/network.bicep")]
    public void Lint_EveryBicepFile_HasNoWarnings(string file)
    {
        var (exitCode, output, errors) = BicepCli.Run("lint", file);

        Assert.True(exitCode == 0, output + errors);
        Assert.Equal("", (output + errors).Trim());
    }

    [Fact]
    public void BuildParams_ExampleParameters_CompileAgainstTheTemplate()
    {
        var outFile = Path.Combine(Path.GetTempPath(), $"bicepparam-{Guid.NewGuid():N}.json");
        try
        {
            var (exitCode, output, errors) = BicepCli.Run("build-params", "main.example.bicepparam", "--outfile", outFile);

            Assert.True(exitCode == 0, output + errors);
            Assert.Equal("", (output + errors).Trim());
        }
        finally
        {
            File.Delete(outFile);
        }
    }

    [Fact]
    public void Site_IsFlexConsumptionCustomHandler_WithIdentityDeploymentStorage()
    {
        var site = Resource("Microsoft.Web/sites");
        var properties = site["properties"]!;
        var config = properties["functionAppConfig"]!;

        Assert.Equal("functionapp,linux", (string?)site["kind"]);
        Assert.True((bool)properties["httpsOnly"]!);
        Assert.Contains(IdentityType, (string?)properties["keyVaultReferenceIdentity"], StringComparison.Ordinal);
        Assert.Equal("custom", (string?)config["runtime"]!["name"]);
        Assert.Equal("1.0", (string?)config["runtime"]!["version"]);
        Assert.Equal("blobContainer", (string?)config["deployment"]!["storage"]!["type"]);
        Assert.Equal("UserAssignedIdentity", (string?)config["deployment"]!["storage"]!["authentication"]!["type"]);
        Assert.Equal(2048, (int)Template["parameters"]!["instanceMemoryMB"]!["defaultValue"]!);
        var scale = config["scaleAndConcurrency"]!;
        Assert.Equal("[parameters('maximumInstanceCount')]", (string?)scale["maximumInstanceCount"]);
        Assert.Contains("alwaysReadyHttpInstances", scale["alwaysReady"]!.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal("[parameters('httpPerInstanceConcurrency')]", (string?)scale["triggers"]!["http"]!["perInstanceConcurrency"]);
        var plan = Resource("Microsoft.Web/serverfarms");
        Assert.Equal("FC1", (string?)plan["sku"]!["name"]);
        Assert.Equal("FlexConsumption", (string?)plan["sku"]!["tier"]);
        var storage = Resource("Microsoft.Storage/storageAccounts")["properties"]!;
        Assert.False((bool)storage["allowSharedKeyAccess"]!);
        Assert.False((bool)storage["allowBlobPublicAccess"]!);
        Assert.Equal("TLS1_2", (string?)storage["minimumTlsVersion"]);
        var vault = Resource("Microsoft.KeyVault/vaults")["properties"]!;
        Assert.True((bool)vault["enableRbacAuthorization"]!);
        Assert.True((bool)vault["enableSoftDelete"]!);
        Assert.True((bool)vault["enablePurgeProtection"]!);
        Assert.True((bool)Resource("Microsoft.ServiceBus/namespaces")["properties"]!["disableLocalAuth"]!);
        Assert.True((bool)Resource("Microsoft.Insights/components")["properties"]!["DisableLocalAuth"]!);
    }

    [Fact]
    public void AppSettings_HaveNoDeprecatedSetting()
    {
        var names = AppSettings().Keys;

        Assert.Empty(names.Intersect(DeprecatedSettings, StringComparer.OrdinalIgnoreCase));
        Assert.DoesNotContain(names, n => n.StartsWith("WEBSITE_CONTENT", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void AppSettings_CarryTheRuntimeEnvironmentOfTheHandler()
    {
        // run-local.sh and bench/run source runtime.env; the deployed app gets the same from its app settings.
        var lines = File.ReadAllLines(Path.Combine(RepoPaths.Root, "functions", "Handler", "runtime.env"))
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .ToList();
        var settings = AppSettings();

        Assert.NotEmpty(lines);
        foreach (var line in lines)
        {
            var (name, value) = (line[..line.IndexOf('=', StringComparison.Ordinal)], line[(line.IndexOf('=', StringComparison.Ordinal) + 1)..]);
            Assert.Matches("^DOTNET_[A-Za-z0-9_]+$", name);
            Assert.True(settings.TryGetValue(name, out var deployed), $"{name} is in runtime.env but not in main.bicep's app settings");
            Assert.Equal(value, deployed);
        }
    }

    [Fact]
    public async Task AppSettings_StartTheHandlerInHostedMode()
    {
        // Each template value is an ARM expression or a Key Vault reference resolved in Azure: stand in a value of
        // the same shape, then let the handler's own start-up validation judge the settings.
        // NOTE: an app setting A__b reaches .NET configuration as A:b, as the environment variable provider maps it.
        var settings = AppSettings().ToDictionary(s => s.Key.Replace("__", ":", StringComparison.Ordinal), s => (string?)Sample(s.Key, s.Value), StringComparer.OrdinalIgnoreCase);
        settings.TryAdd("AzureWebJobsStorage", null); // masks one the machine running the test may have
        settings["FUNCTIONS_CUSTOMHANDLER_PORT"] = HandlerProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["RELAY_APP_ROOT"] = AppContext.BaseDirectory;

        await using var app = HandlerApp.Build([], builder => builder.Configuration.AddInMemoryCollection(settings));
        app.Services.GetRequiredService<IStartupValidator>().Validate();

        // The Service Bus settings resolve too (no function uses them yet, so the handler does not register them).
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        await using var services = new ServiceCollection().AddServiceBusConnection(configuration).BuildServiceProvider();
        services.GetRequiredService<IStartupValidator>().Validate();

        // Settings named by function.json (%NAME%) are app settings too.
        foreach (var file in FunctionJsonFiles())
        {
            foreach (Match match in PercentSetting().Matches(File.ReadAllText(file)))
            {
                Assert.True(settings.ContainsKey(match.Groups[1].Value), $"{file} names %{match.Groups[1].Value}%, which the template does not set");
            }
        }
    }

    [Fact]
    public void Queues_NamedByFunctionsAndTheIssue_ExistWithSessionsAndDuplicateDetection()
    {
        var declared = FunctionJsonFiles()
            .SelectMany(file => JsonNode.Parse(File.ReadAllText(file))!["bindings"]!.AsArray())
            .Where(b => string.Equals((string?)b!["type"], "serviceBusTrigger", StringComparison.OrdinalIgnoreCase))
            .Select(b => (string?)b!["queueName"] ?? throw new InvalidOperationException("a serviceBusTrigger without queueName"));
        var queues = Resources("Microsoft.ServiceBus/namespaces/queues")
            .ToDictionary(q => QueueName().Match((string)q["name"]!).Groups[1].Value, q => q["properties"]!);

        foreach (var name in declared.Concat(IssueQueues).Distinct(StringComparer.Ordinal))
        {
            Assert.True(queues.TryGetValue(name, out var properties), $"queue {name} is not in the template");
            Assert.True((bool)properties["requiresSession"]!, name);
            Assert.True((bool)properties["requiresDuplicateDetection"]!, name);
            Assert.Equal("PT10M", (string?)properties["duplicateDetectionHistoryTimeWindow"]);
            Assert.True((bool)properties["deadLetteringOnMessageExpiration"]!, name);
            Assert.NotNull(properties["maxDeliveryCount"]);
            Assert.NotNull(properties["lockDuration"]);
        }
    }

    [Fact]
    public void HostJson_ServiceBusWork_EndsBeforeFunctionTimeout()
    {
        var host = JsonNode.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, "host.json")))!;
        var serviceBus = host["extensions"]!["serviceBus"]!;
        var functionTimeout = TimeSpan.Parse((string)host["functionTimeout"]!, System.Globalization.CultureInfo.InvariantCulture);
        var renewal = TimeSpan.Parse((string)serviceBus["maxAutoLockRenewalDuration"]!, System.Globalization.CultureInfo.InvariantCulture);
        var lockDuration = System.Xml.XmlConvert.ToTimeSpan((string)Template["parameters"]!["serviceBusLockDuration"]!["defaultValue"]!);

        // The host renews the lock while the function runs, up to maxAutoLockRenewalDuration: work that ends within it
        // keeps its lock, and it ends well before functionTimeout restarts the worker.
        Assert.True(renewal < functionTimeout, $"{renewal} must be under functionTimeout {functionTimeout}");
        Assert.True(lockDuration <= renewal, $"the lock ({lockDuration}) must be renewable within {renewal}");
        Assert.Equal(0, (int)serviceBus["prefetchCount"]!);
    }

    [Fact]
    public void RoleAssignments_CoverEveryServiceTheAppTouches_ForTheIdentity()
    {
        var settings = AppSettings();
        var assignments = Resources("Microsoft.Authorization/roleAssignments")
            .Select(r => (RoleId: RoleId((string)r["properties"]!["roleDefinitionId"]!), Principal: (string)r["properties"]!["principalId"]!))
            .ToArray();

        foreach (var (prefix, role, roleId) in RequiredRoles)
        {
            var used = settings.Any(s => s.Key.StartsWith(prefix, StringComparison.Ordinal) || s.Value.Contains(prefix, StringComparison.Ordinal));
            Assert.True(used, $"no app setting shows the app uses what {role} is for ({prefix})");
            Assert.Contains(assignments, a => a.RoleId == roleId && a.Principal.Contains(IdentityType, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Template_HoldsNoSecretValue()
    {
        var text = Template.ToJsonString();

        foreach (var marker in new[] { "AccountKey=", "SharedAccessKey", "listKeys(", "listConnectionStrings(", "listSecrets(", "InstrumentationKey=" })
        {
            Assert.DoesNotContain(marker, text, StringComparison.OrdinalIgnoreCase);
        }

        Assert.DoesNotContain(Template["parameters"]!.AsObject(), p => ((string?)p.Value!["type"])?.StartsWith("secure", StringComparison.OrdinalIgnoreCase) == true);
        foreach (var (name, value) in AppSettings())
        {
            var literal = !value.StartsWith('[') && !value.Contains("@Microsoft.KeyVault(", StringComparison.Ordinal);
            Assert.False(literal && LooksSecret(value), $"{name} holds what looks like a secret");
            Assert.False(name is "RELAY_ADMIN_KEY" or "RELAY_ENCRYPTION_KEYS" && !value.Contains("@Microsoft.KeyVault(", StringComparison.Ordinal), $"{name} must be a Key Vault reference");
        }
    }

    private static JsonObject Template => BicepCli.Template;

    private static IEnumerable<JsonObject> Resources(string type) =>
        Template["resources"]!.AsArray().Select(r => r!.AsObject()).Where(r => (string?)r["type"] == type);

    private static JsonObject Resource(string type) => Assert.Single(Resources(type));

    private static Dictionary<string, string> AppSettings() =>
        Resource("Microsoft.Web/sites")["properties"]!["siteConfig"]!["appSettings"]!.AsArray()
            .ToDictionary(s => (string)s!["name"]!, s => (string)s!["value"]!, StringComparer.Ordinal);

    private static IEnumerable<string> FunctionJsonFiles() =>
        Directory.GetFiles(Path.Combine(RepoPaths.Root, "functions"), "function.json", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal));

    /// <summary>The role GUID in a roleDefinitionId expression, literal or through <c>variables('roles').name</c>.</summary>
    private static string RoleId(string expression)
    {
        var literal = GuidPattern().Match(expression);
        if (literal.Success)
        {
            return literal.Value;
        }

        var reference = VariableMember().Match(expression);
        Assert.True(reference.Success, expression);
        return (string)Template["variables"]![reference.Groups[1].Value]![reference.Groups[2].Value]!;
    }

    private static string Sample(string name, string value)
    {
        // A Key Vault reference (an ARM format() expression around @Microsoft.KeyVault(...)): the platform puts the secret here.
        if (value.Contains("@Microsoft.KeyVault(", StringComparison.Ordinal))
        {
            return name == "RELAY_ENCRYPTION_KEYS"
                ? "k1=" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))
                : Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));
        }

        if (!value.StartsWith('['))
        {
            return value;
        }

        if (name.EndsWith("ServiceUri", StringComparison.Ordinal))
        {
            var service = name[(name.LastIndexOf('_') + 1)..^"ServiceUri".Length];
            return $"https://relaystore.{service}.core.windows.net/";
        }

        if (name.EndsWith("clientId", StringComparison.Ordinal))
        {
            return Guid.NewGuid().ToString();
        }

        if (name.EndsWith("fullyQualifiedNamespace", StringComparison.Ordinal))
        {
            return "sb-relay.servicebus.windows.net";
        }

        if (value.Contains("ClientId={0};Authorization=AAD", StringComparison.Ordinal))
        {
            return $"ClientId={Guid.NewGuid()};Authorization=AAD";
        }

        // A parameter: its default.
        var parameter = ParameterReference().Match(value);
        if (parameter.Success)
        {
            return (string?)Template["parameters"]![parameter.Groups[1].Value]!["defaultValue"] ?? "";
        }

        return "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://example.invalid/";
    }

    private static bool LooksSecret(string value) =>
        value.Length >= 20 && !value.Contains(' ', StringComparison.Ordinal) && Base64ish().IsMatch(value) && value.Any(char.IsDigit) && value.Any(char.IsUpper);

    [GeneratedRegex(@"'([a-z0-9][a-z0-9.\-_]*)'\)\]$")]
    private static partial Regex QueueName();

    [GeneratedRegex(@"%([A-Za-z0-9_]+)%")]
    private static partial Regex PercentSetting();

    [GeneratedRegex(@"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")]
    private static partial Regex GuidPattern();

    [GeneratedRegex(@"variables\('(\w+)'\)\.(\w+)")]
    private static partial Regex VariableMember();

    [GeneratedRegex(@"^\[parameters\('(\w+)'\)\]$")]
    private static partial Regex ParameterReference();

    [GeneratedRegex(@"^[A-Za-z0-9+/=_\-]+$")]
    private static partial Regex Base64ish();
}
