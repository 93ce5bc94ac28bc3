using System.Text.Json;
using Serverless.Relay.Accounts;
using Serverless.Relay.Providers;

namespace Serverless.Relay.Admin;

/// <summary>The body of <c>POST /api/admin/accounts</c> (every required field) or <c>PATCH /api/admin/accounts/{id}</c> (any subset).</summary>
internal sealed record AccountRequest
{
    public static readonly string ProviderMessage = "provider must be one of: " + string.Join(", ", ProviderKinds.AllWireNames);

    public Optional<string> Name { get; init; }
    public Optional<ProviderKind> Provider { get; init; }
    public Optional<string?> BaseUrl { get; init; }
    public Optional<string?> ApiVersion { get; init; }
    public Optional<string?> ApiKey { get; init; }
    public Optional<IReadOnlyList<string>> Models { get; init; }
    public Optional<IReadOnlyDictionary<string, string>> ModelMap { get; init; }
    public Optional<int> Priority { get; init; }
    public Optional<bool> Enabled { get; init; }
    public Optional<int> Weight { get; init; }
    public Optional<int?> MaxConcurrency { get; init; }
    /// <summary>OAuth credentials instead of an API key (creation only).</summary>
    public OAuthCredentialRequest? OAuth { get; init; }

    /// <summary>Reads every field, adding one error per bad field. Unknown fields are ignored.</summary>
    public static AccountRequest Parse(JsonElement body, FieldErrors errors, bool creating) => new()
    {
        Name = AdminFields.Name(body, errors, required: creating),
        Provider = ParseProvider(body, errors, creating),
        BaseUrl = ParseBaseUrl(body, errors),
        ApiVersion = AdminFields.NullableString(body, "apiVersion", errors, 100, "apiVersion must be a non-empty string"),
        ApiKey = AdminFields.NullableString(body, "apiKey", errors, 4096, "apiKey must be a non-empty string"),
        Models = AdminFields.Models(body, errors, required: creating, allowEmpty: false, "models must be a non-empty array of non-empty strings"),
        ModelMap = ParseModelMap(body, errors),
        Priority = ParsePriority(body, errors),
        Enabled = AdminFields.Enabled(body, errors),
        Weight = ParseWeight(body, errors),
        MaxConcurrency = ParseMaxConcurrency(body, errors),
        OAuth = OAuthCredentialRequest.Parse(body, errors),
    };

    /// <summary>The account after this request: <paramref name="current"/> with the fields that were sent.</summary>
    public UpstreamAccount ApplyTo(UpstreamAccount current) => current with
    {
        Name = Name.Or(current.Name),
        Provider = Provider.Or(current.Provider),
        BaseUrl = BaseUrl.Or(current.BaseUrl),
        ApiVersion = ApiVersion.Or(current.ApiVersion),
        Models = Models.Or(current.Models),
        ModelMap = ModelMap.Or(current.ModelMap),
        Priority = Priority.Or(current.Priority),
        Enabled = Enabled.Or(current.Enabled),
        Weight = Weight.Or(current.Weight),
        MaxConcurrency = MaxConcurrency.Or(current.MaxConcurrency),
    };

    /// <summary>The rules that span fields, checked on the merged result (a PATCH may change the provider alone).</summary>
    public static void CheckCombination(UpstreamAccount account, bool hasApiKey, FieldErrors errors)
    {
        if (account.Provider is ProviderKind.AzureOpenAI or ProviderKind.OpenAICompatible && account.BaseUrl is null && !errors.Has("baseUrl"))
        {
            errors.Add("baseUrl", $"baseUrl is required for provider {account.Provider.WireName()}");
        }

        if (account.Provider is not ProviderKind.Ollama && !hasApiKey && !errors.Has("apiKey"))
        {
            errors.Add("apiKey", $"apiKey is required for provider {account.Provider.WireName()}");
        }
    }

    private static Optional<ProviderKind> ParseProvider(JsonElement body, FieldErrors errors, bool creating)
    {
        if (!body.TryGetProperty("provider", out var value))
        {
            if (creating)
            {
                errors.Add("provider", "provider is required");
            }

            return default;
        }

        if (value.ValueKind == JsonValueKind.String && ProviderKinds.TryParse(value.GetString(), out var kind))
        {
            return kind;
        }

        errors.Add("provider", ProviderMessage);
        return default;
    }

    private static Optional<string?> ParseBaseUrl(JsonElement body, FieldErrors errors)
    {
        if (!body.TryGetProperty("baseUrl", out var value))
        {
            return default;
        }

        if (value.ValueKind == JsonValueKind.Null)
        {
            return new Optional<string?>(true, null);
        }

        if (value.ValueKind == JsonValueKind.String
            && Uri.TryCreate(value.GetString(), UriKind.Absolute, out var uri)
            && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            && uri.Host.Length > 0)
        {
            if (uri.UserInfo.Length > 0)
            {
                // NOTE: never echo the URL: it holds a credential, and GET answers would show it to every admin.
                errors.Add("baseUrl", "baseUrl must not contain credentials (user:password@); send the key as apiKey");
                return default;
            }

            return value.GetString()!.TrimEnd('/');
        }

        errors.Add("baseUrl", "baseUrl must be an absolute http or https URL");
        return default;
    }

    private static Optional<IReadOnlyDictionary<string, string>> ParseModelMap(JsonElement body, FieldErrors errors)
    {
        if (!body.TryGetProperty("modelMap", out var value))
        {
            return default;
        }

        var map = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (value.ValueKind == JsonValueKind.Null)
        {
            return map;
        }

        if (value.ValueKind == JsonValueKind.Object)
        {
            var valid = true;
            foreach (var property in value.EnumerateObject())
            {
                if (property.Name.Trim().Length == 0 || property.Value.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(property.Value.GetString()))
                {
                    valid = false;
                    break;
                }

                map[property.Name.Trim()] = property.Value.GetString()!.Trim();
            }

            if (valid)
            {
                return map;
            }
        }

        errors.Add("modelMap", "modelMap must be an object mapping model names to non-empty strings");
        return default;
    }

    private static Optional<int> ParseWeight(JsonElement body, FieldErrors errors)
    {
        if (!body.TryGetProperty("weight", out var value))
        {
            return default;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var weight) && weight is >= 1 and <= 1000)
        {
            return weight;
        }

        errors.Add("weight", "weight must be an integer from 1 to 1000");
        return default;
    }

    private static Optional<int?> ParseMaxConcurrency(JsonElement body, FieldErrors errors)
    {
        if (!body.TryGetProperty("maxConcurrency", out var value))
        {
            return default;
        }

        if (value.ValueKind == JsonValueKind.Null)
        {
            return new Optional<int?>(true, null);
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var cap) && cap >= 1)
        {
            return cap;
        }

        errors.Add("maxConcurrency", "maxConcurrency must be a positive integer or null");
        return default;
    }

    private static Optional<int> ParsePriority(JsonElement body, FieldErrors errors)
    {
        if (!body.TryGetProperty("priority", out var value))
        {
            return default;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var priority))
        {
            return priority;
        }

        errors.Add("priority", "priority must be an integer");
        return default;
    }
}
