using Microsoft.Extensions.Logging;
using Serverless.Relay.ApiDocs;
using Serverless.Relay.Formats;
using Serverless.Relay.Pricing;

namespace Serverless.Relay.Admin;

/// <summary><c>pricing</c>: the price table in force (GET), replaced (PUT) or reset to the built-in one (DELETE).</summary>
internal sealed partial class PricingEndpoints(PriceBook prices, ILogger<PricingEndpoints> logger) : IAdminEndpointGroup
{
    public void Map(AdminRouteGroup group) => group.MapGroup("pricing")
        .MapGet("", GetAsync).Documented(new("The price table in force") { Response = AdminSchemas.Pricing })
        .MapPut("", PutAsync).Documented(new("Replaces the price table") { Request = AdminSchemas.PricingWrite, Response = AdminSchemas.Pricing })
        .MapDelete("", ResetAsync).Documented(new("Goes back to the built-in price table") { Response = AdminSchemas.Pricing });

    private async Task<AdminResult> GetAsync(AdminCall call)
    {
        var table = await prices.GetAsync(call.Aborted);
        return AdminResult.Ok(table.Write);
    }

    private async Task<AdminResult> PutAsync(AdminCall call)
    {
        var errors = new List<string>();
        var table = PriceTable.Parse(call.Body, errors);
        if (table is null)
        {
            return RelayError.Invalid(string.Join("; ", errors), "prices");
        }

        await prices.PutAsync(table, call.Aborted);
        Log.PricingChanged(logger, table.Prices.Count);
        return AdminResult.Ok(table.Write);
    }

    private async Task<AdminResult> ResetAsync(AdminCall call)
    {
        await prices.ResetAsync(call.Aborted);
        Log.PricingChanged(logger, DefaultPrices.Table.Prices.Count);
        return AdminResult.Ok(DefaultPrices.Table.Write);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1408, Level = LogLevel.Information, Message = "Admin set the price table ({Count} prices)")]
        public static partial void PricingChanged(ILogger logger, int count);
    }
}
