using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Serverless.Bench;

/// <summary>An upstream account as the relay's admin API lists it, with its health on the answering instance.</summary>
internal sealed record AccountView(string Id, string Name, string Health);

/// <summary>The few admin API calls the harness makes: accounts and keys created, listed and removed.</summary>
internal sealed class AdminApi : IDisposable
{
    private readonly HttpClient _http;

    public AdminApi(string relay, string adminKey)
    {
        _http = new HttpClient { BaseAddress = new Uri(relay.TrimEnd('/') + "/"), Timeout = TimeSpan.FromSeconds(30) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
    }

    /// <summary>Creates an account; false (with the relay's answer on stderr) when refused.</summary>
    public async Task<bool> CreateAccountAsync(object account)
    {
        using var response = await _http.PostAsJsonAsync("api/admin/accounts", account);
        return await SucceededAsync(response, "account");
    }

    /// <summary>Creates a key and returns its secret; null (with the relay's answer on stderr) when refused.</summary>
    public async Task<string?> CreateKeyAsync(object key)
    {
        using var response = await _http.PostAsJsonAsync("api/admin/keys", key);
        if (!await SucceededAsync(response, "key"))
        {
            return null;
        }

        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("key").GetString();
    }

    public async Task<IReadOnlyList<AccountView>> ListAccountsAsync()
    {
        using var response = await _http.GetAsync("api/admin/accounts");
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"the admin API listed accounts with {(int)response.StatusCode}");
        }

        using var list = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return list.RootElement.GetProperty("data").EnumerateArray()
            .Select(a => new AccountView(
                a.GetProperty("id").GetString()!,
                a.GetProperty("name").GetString()!,
                a.TryGetProperty("health", out var h) ? h.GetProperty("status").GetString()! : "unknown"))
            .ToList();
    }

    public async Task<bool> DeleteAccountAsync(string id)
    {
        using var response = await _http.DeleteAsync("api/admin/accounts/" + Uri.EscapeDataString(id));
        return await SucceededAsync(response, "account deletion");
    }

    private static async Task<bool> SucceededAsync(HttpResponseMessage response, string what)
    {
        if (response.IsSuccessStatusCode)
        {
            return true;
        }

        await Console.Error.WriteLineAsync($"{what}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return false;
    }

    public void Dispose() => _http.Dispose();
}
