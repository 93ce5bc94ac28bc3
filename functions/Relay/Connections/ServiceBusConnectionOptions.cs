using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Serverless.Relay.Validation;

namespace Serverless.Relay.Connections;

/// <summary>
/// The Service Bus namespace, read as the Functions host reads a <c>serviceBusTrigger</c>'s <c>connection</c>:
/// <c>ServiceBusConnection__fullyQualifiedNamespace</c> with <c>__credential</c> and <c>__clientId</c>. Identity only:
/// the namespace has local (SAS) authentication off, so there is no connection string to accept.
/// </summary>
internal sealed class ServiceBusConnectionOptions
{
    public const string ConnectionName = "ServiceBusConnection";
    public const string NamespaceSuffix = "__fullyQualifiedNamespace";

    /// <summary>e.g. <c>relay-sb.servicebus.windows.net</c>.</summary>
    public string? FullyQualifiedNamespace { get; set; }

    public string? Credential { get; set; }

    public string? ClientId { get; set; }

    /// <summary>The namespace and credential; on a wrong or missing setting adds an error naming it and returns null.</summary>
    public ServiceBusConnection? Resolve(List<string> errors)
    {
        var count = errors.Count;
        var ns = FullyQualifiedNamespace?.Trim();
        if (string.IsNullOrEmpty(ns))
        {
            errors.Add($"{ConnectionName}{NamespaceSuffix} is not set: set it to the namespace host name, e.g. NAME.servicebus.windows.net.");
        }
        else if (Uri.CheckHostName(ns) != UriHostNameType.Dns || !ns.Contains('.', StringComparison.Ordinal))
        {
            errors.Add($"{ConnectionName}{NamespaceSuffix} must be a host name, e.g. NAME.servicebus.windows.net, not a URI or connection string.");
        }

        var credential = ConnectionCredential.Resolve(ConnectionName, Credential, ClientId, errors);
        return errors.Count == count ? new ServiceBusConnection(ns!, credential!) : null;
    }
}

/// <summary>A resolved Service Bus connection: what a <c>ServiceBusClient(namespace, credential)</c> needs.</summary>
internal sealed record ServiceBusConnection(string FullyQualifiedNamespace, ConnectionCredential Credential);

internal sealed class ServiceBusConnectionOptionsValidator : IValidateOptions<ServiceBusConnectionOptions>
{
    public ValidateOptionsResult Validate(string? name, ServiceBusConnectionOptions options)
    {
        var errors = new List<string>();
        _ = options.Resolve(errors);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

internal static class ServiceBusConnectionServiceCollectionExtensions
{
    /// <summary>
    /// Binds and validates <see cref="ServiceBusConnectionOptions"/> at start-up. For the parts that send to or read
    /// Service Bus; not registered by the handler until one exists.
    /// </summary>
    public static IServiceCollection AddServiceBusConnection(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ServiceBusConnectionOptions>()
            .Configure(o =>
            {
                var section = configuration.GetSection(ServiceBusConnectionOptions.ConnectionName);
                o.FullyQualifiedNamespace = section["fullyQualifiedNamespace"];
                o.Credential = section["credential"];
                o.ClientId = section["clientId"];
            })
            .ValidateWith<ServiceBusConnectionOptions, ServiceBusConnectionOptionsValidator>()
            .ValidateOnStart();
        return services;
    }
}
