using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Serverless.Relay.Functions;
using Serverless.Relay.Validation;

namespace Serverless.Relay.Admin;

internal static class AdminServiceCollectionExtensions
{
    /// <summary>
    /// Registers the admin API: the admin-key filter, one endpoint group per resource, the route table and the
    /// <c>Admin</c> function. The quota and key-info functions need the relay's authenticator: <see cref="AddQuotaFunctions"/>.
    /// </summary>
    public static IServiceCollection AddAdminApi(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AdminOptions>().Configure(o => o.AdminKey = configuration[AdminOptions.AdminKeySetting]);
        ValidatedOptions.AddClosedOptionsServices<AdminOptions>(services);
        services.TryAddSingleton<AdminKeyFilter>();

        services.TryAddSingleton<AccountEndpoints>();
        services.AddSingleton<IAdminEndpointGroup>(sp => sp.GetRequiredService<AccountEndpoints>());
        services.AddSingleton<IAdminEndpointGroup, KeyEndpoints>();
        services.AddSingleton<IAdminEndpointGroup, ModelGroupEndpoints>();
        services.AddSingleton<IAdminEndpointGroup, OAuthEndpoints>();
        services.AddSingleton<IAdminEndpointGroup, PricingEndpoints>();
        services.AddSingleton<IAdminEndpointGroup, UsageEndpoints>();
        services.AddSingleton<IAdminEndpointGroup, AuditEndpoints>();
        services.AddSingleton<IAdminEndpointGroup, OpenApiEndpoints>();
        services.AddSingleton<AdminApiDocument>();
        services.AddSingleton<IAdminEndpointGroup, QuotaEndpoints>();
        services.TryAddSingleton<AdminRoutes>();

        services.AddSingleton<IHttpFunction, AdminFunction>();
        return services;
    }

    /// <summary>The quota and key-info functions: they authenticate relay keys, so they come with the request path.</summary>
    public static IServiceCollection AddQuotaFunctions(this IServiceCollection services)
    {
        services.AddSingleton<IHttpFunction, KeyInfoFunction>();
        services.AddSingleton<IHttpFunction, QuotaFunction>();
        return services;
    }
}
