using System.Text.Json;
using Serverless.Relay.ApiDocs;
using Serverless.Relay.Keys;
using Serverless.Relay.Limits;
using Serverless.Relay.Storage;

namespace Serverless.Relay.Admin;

/// <summary><c>keys/{id}/quota</c>: a key's limits and where each stands (the same answer the key gets from <c>/v1/key-info</c>).</summary>
internal sealed class QuotaEndpoints(ClientKeyStore keys, QuotaReader quotas) : IAdminEndpointGroup
{
    public void Map(AdminRouteGroup group) => group.MapGroup("keys")
        .MapGet("{id}/quota", GetAsync).Documented(new("A key's limits and its use of each in the current window") { Response = AdminSchemas.Quota, Errors = [404] });

    private async Task<AdminResult> GetAsync(AdminCall call)
    {
        var id = call["id"];
        var key = StorageIds.IsWellFormed(KeyEndpoints.IdPrefix, id) ? await keys.GetIfExistsAsync(id, call.Aborted) : null;
        if (key is null)
        {
            return ClientKeyStore.NotFound(id);
        }

        var lines = await quotas.ReadAsync(key, call.Aborted);
        return AdminResult.Ok(writer => WriteQuota(writer, key, lines));
    }

    /// <summary>A key's limits and where each stands; shared with the key-info API.</summary>
    internal static void WriteQuota(Utf8JsonWriter writer, ClientKey key, IReadOnlyList<QuotaLine> lines)
    {
        writer.WriteStartObject();
        writer.WriteString("object", "quota");
        writer.WriteString("keyId", key.Id);
        writer.WritePropertyName("limits");
        key.Limits.Write(writer);
        QuotaReader.Write(writer, "usage", lines);
        writer.WriteEndObject();
    }
}
