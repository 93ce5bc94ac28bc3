using System.Net.Http.Json;
using System.Text.Json;

namespace Serverless.Tests.Infrastructure;

/// <summary>The admin API calls that set a relay up, over any client that carries the admin key (in-process host or a process).</summary>
internal static class AdminApi
{
    /// <summary>Creates an upstream account; returns its id.</summary>
    public static async Task<string> CreateAccountAsync(HttpClient admin, object account)
    {
        using var response = await admin.PostAsJsonAsync("api/admin/accounts", account).WaitAsync(TimeSpan.FromSeconds(30));
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"creating the account failed: {(int)response.StatusCode} {body}");
        }

        return JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
    }

    /// <summary>Creates a client key; returns its id and the plaintext key.</summary>
    public static async Task<(string Id, string Key)> CreateKeyAsync(HttpClient admin, object? key = null)
    {
        using var response = await admin.PostAsJsonAsync("api/admin/keys", key ?? new { name = "test" }).WaitAsync(TimeSpan.FromSeconds(30));
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"creating the key failed: {(int)response.StatusCode} {body}");
        }

        var created = JsonDocument.Parse(body).RootElement;
        return (created.GetProperty("id").GetString()!, created.GetProperty("key").GetString()!);
    }
}
