using Serverless.Relay.ApiDocs;
using Serverless.Relay.Audit;
using Serverless.Relay.Keys;
using Serverless.Relay.Limits;
using static Serverless.Relay.ApiDocs.ApiSchema;

namespace Serverless.Relay.Admin;

/// <summary>The admin API's bodies as the OpenAPI document describes them: what the views write and the requests accept.</summary>
internal static class AdminSchemas
{
    private static readonly ApiSchema Id = String(description: "A type prefix and 16 hex digits, e.g. key_3f9c0a17d2b4e680.");

    /// <summary><c>audit</c> of a key or an IM channel.</summary>
    public static readonly ApiSchema AuditMode = OneOf(AuditModes.HashesName, AuditModes.FullName);
    private static readonly ApiSchema Strings = ArrayOf(String());

    /// <summary>Every limit is optional; an absent one does not limit. Costs in USD, the rest in counts.</summary>
    public static readonly ApiSchema Limits = new()
    {
        Name = "Limits",
        Type = "object",
        Description = "Rate limits, token quotas, cost budgets and concurrency; every field optional (null in a PATCH removes it).",
        Properties = [.. KeyLimits.Fields.Select(f => Optional(f.Field, (f.Metric == LimitMetric.Cost ? Number() : Integer()).OrNull()))],
    };

    public static readonly ApiSchema Key = Object("Key",
        Prop("id", Id),
        Prop("object", OneOf("key")),
        Prop("name", String()),
        Prop("owner", String().OrNull(), "Who the key is for; usage rows carry it."),
        Prop("models", Strings, "Model patterns the key may use; empty: every model."),
        Prop("expiresAt", DateTime().OrNull()),
        Prop("enabled", Boolean()),
        Prop("role", OneOf(ClientKey.UserRole, ClientKey.AdminRole)),
        Prop("audit", AuditMode),
        Prop("limits", Limits),
        Prop("createdAt", DateTime()),
        Prop("hint", String(description: "The start and end of the plaintext.")));

    public static readonly ApiSchema CreatedKey = Key with
    {
        Name = "CreatedKey",
        Properties = [.. Key.Properties!, Prop("key", String(description: "The plaintext key: shown here once, never again."))],
    };

    public static readonly ApiSchema KeyWrite = Object("KeyWrite",
        Optional("name", String(), "Required on creation."),
        Optional("owner", String().OrNull()),
        Optional("models", Strings),
        Optional("expiresAt", DateTime().OrNull()),
        Optional("enabled", Boolean()),
        Optional("role", OneOf(ClientKey.UserRole, ClientKey.AdminRole)),
        Optional("audit", AuditMode),
        Optional("limits", Limits.OrNull()));

    private static readonly ApiSchema AccountHealth = Object("AccountHealth",
        Prop("status", String(description: "available, cooling-down, circuit-open, rate-limited, disabled or disabled-by-admin.")),
        Prop("until", DateTime().OrNull()),
        Prop("lastError", String().OrNull()),
        Prop("lastErrorAt", DateTime().OrNull()),
        Prop("inFlight", Integer()),
        Prop("recentRequests", Integer()),
        Prop("successRate", Number().OrNull()));

    public static readonly ApiSchema Account = Object("Account",
        Prop("id", Id),
        Prop("object", OneOf("account")),
        Prop("name", String()),
        Prop("provider", String(description: "openai, azure-openai, anthropic, gemini, openrouter, ollama or openai-compatible.")),
        Prop("baseUrl", String("uri")),
        Prop("apiVersion", String().OrNull()),
        Prop("models", Strings),
        Prop("modelMap", MapOf(String()), "Requested model to upstream model."),
        Prop("priority", Integer()),
        Prop("enabled", Boolean()),
        Prop("createdAt", DateTime()),
        Prop("hasApiKey", Boolean()),
        Prop("weight", Integer()),
        Prop("maxConcurrency", Integer().OrNull()),
        Optional("oauth", Object(null,
            Prop("tokenUrl", String("uri")),
            Prop("clientId", String()),
            Prop("requestFormat", String()),
            Prop("expiresAt", DateTime()),
            Prop("hasRefreshToken", Boolean()),
            Prop("lastRefreshError", String().OrNull()))),
        Optional("health", AccountHealth));

    public static readonly ApiSchema AccountWrite = Object("AccountWrite",
        Optional("name", String(), "Required on creation."),
        Optional("provider", String(), "Required on creation."),
        Optional("baseUrl", String("uri")),
        Optional("apiVersion", String().OrNull()),
        Optional("apiKey", String(), "Stored encrypted; never returned."),
        Optional("models", Strings),
        Optional("modelMap", MapOf(String())),
        Optional("priority", Integer()),
        Optional("weight", Integer()),
        Optional("maxConcurrency", Integer().OrNull()),
        Optional("enabled", Boolean()));

    public static readonly ApiSchema AccountEvent = Object("AccountEvent",
        Prop("object", OneOf("account.event")),
        Prop("account", Id),
        Prop("status", String()),
        Prop("at", DateTime()),
        Prop("until", DateTime().OrNull()),
        Prop("reason", String()));

    public static readonly ApiSchema ModelGroup = Object("ModelGroup",
        Prop("object", OneOf("model.group")),
        Prop("name", String()),
        Prop("strategy", String()),
        Prop("targets", ArrayOf(Object(null,
            Optional("account", Id),
            Optional("provider", String()),
            Prop("upstreamModel", String())))),
        Prop("fallback", Strings),
        Prop("createdAt", DateTime()));

    public static readonly ApiSchema ModelGroupWrite = Object("ModelGroupWrite",
        Prop("name", String()),
        Prop("targets", ArrayOf(Object(null, Optional("account", Id), Optional("provider", String()), Prop("upstreamModel", String())))),
        Optional("strategy", String()),
        Optional("fallback", Strings));

    private static readonly ApiSchema Price = Object("Price",
        Prop("model", String(description: "A model pattern (a trailing * matches any suffix).")),
        Prop("input", Number(), "USD per 1M input tokens."),
        Prop("output", Number()),
        Prop("cacheRead", Number().OrNull()),
        Prop("cacheWrite", Number().OrNull()),
        Optional("tiers", ArrayOf(Object(null,
            Prop("aboveInputTokens", Integer()),
            Prop("input", Number()),
            Prop("output", Number()),
            Optional("cacheRead", Number().OrNull()),
            Optional("cacheWrite", Number().OrNull())))));

    public static readonly ApiSchema Pricing = Object("Pricing",
        Prop("object", OneOf("pricing")),
        Prop("currency", OneOf("USD")),
        Prop("unit", String()),
        Prop("default", Boolean(), "True while the built-in table is in force."),
        Optional("source", String()),
        Prop("prices", ArrayOf(Price)));

    public static readonly ApiSchema PricingWrite = Object("PricingWrite", Prop("prices", ArrayOf(Price)));

    private static readonly ApiSchema Percentiles = Object("Percentiles", Prop("p50", Number().OrNull()), Prop("p95", Number().OrNull()), Prop("p99", Number().OrNull()));

    private static readonly ApiProperty[] Totals =
    [
        Prop("requests", Integer()), Prop("errors", Integer()), Prop("inputTokens", Integer()), Prop("outputTokens", Integer()),
        Prop("cacheReadTokens", Integer()), Prop("cacheWriteTokens", Integer()), Prop("reasoningTokens", Integer()),
        Prop("costUsd", Number()), Prop("unpricedRequests", Integer()), Prop("latencyMs", Percentiles), Prop("timeToFirstByteMs", Percentiles),
    ];

    public static readonly ApiSchema Usage = Object("Usage",
        Prop("object", OneOf("usage")),
        Prop("from", String("date")),
        Prop("to", String("date")),
        Prop("groupBy", OneOf(UsageEndpoints.GroupByNames)),
        Prop("keyId", String().OrNull()),
        Prop("data", ArrayOf(new ApiSchema { Type = "object", Description = "The group's name under the groupBy field (a string), then its totals.", Properties = Totals, Values = String() })),
        Prop("total", Object(null, Totals)));

    public static readonly ApiSchema Quota = Object("Quota",
        Prop("object", OneOf("quota")),
        Prop("keyId", Id),
        Prop("limits", Limits),
        Prop("usage", ArrayOf(Object(null,
            Prop("limit", String()),
            Prop("metric", String()),
            Prop("window", String()),
            Prop("unit", String()),
            Prop("amount", Number()),
            Prop("used", Number()),
            Prop("remaining", Number()),
            Prop("resetsAt", DateTime().OrNull())))));

    public static readonly ApiSchema KeyInfo = Object("KeyInfo", Prop("key", Key), Prop("quota", Quota));

    public static readonly ApiSchema UserQuota = Object("UserQuota",
        Prop("user_id", String()),
        Prop("usage", Object(null,
            Prop("user_id", String()),
            Prop("period", String()),
            Prop("input_tokens", Integer()),
            Prop("output_tokens", Integer()),
            Prop("total_tokens", Integer()),
            Prop("requests", Integer()),
            Prop("limit_input", Integer().OrNull()),
            Prop("limit_output", Integer().OrNull()),
            Prop("percentage_used", Number().OrNull()))),
        Prop("limits", QuotaLimits()));

    public static readonly ApiSchema UserQuotaWrite = QuotaLimits() with { Name = "UserQuotaWrite" };

    private static readonly ApiProperty[] AuditFields =
    [
        Prop("object", OneOf("audit_entry")),
        Prop("requestId", String(description: "The x-request-id the client got.")),
        Prop("keyId", Id),
        Prop("owner", String().OrNull()),
        Prop("accountId", String().OrNull()),
        Prop("clientApi", String()),
        Prop("model", String()),
        Prop("upstreamModel", String().OrNull()),
        Prop("status", Integer()),
        Prop("clientAddress", String().OrNull()),
        Prop("requestSha256", String().OrNull(), "Lowercase hex SHA-256 of the request body as received."),
        Prop("requestBytes", Integer()),
        Prop("responseSha256", String().OrNull(), "Of every response body byte sent; null when the client got an error instead of an answer."),
        Prop("responseBytes", Integer()),
        Prop("bodiesStored", Boolean()),
        Prop("bodiesTruncated", Boolean()),
        Prop("startedAt", DateTime()),
        Prop("recordedAt", DateTime()),
    ];

    public static readonly ApiSchema AuditEntry = Object("AuditEntry", AuditFields);

    public static readonly ApiSchema AuditRecord = Object("AuditRecord",
        [.. AuditFields,
        Prop("bodies", Object(null,
            Prop("request", String()),
            Prop("response", String()),
            Prop("requestMatchesDigest", Boolean()),
            Prop("responseMatchesDigest", Boolean())).OrNull(), "Both bodies, for a key or channel with audit \"full\"."),
        Prop("bodiesError", String().OrNull())]);

    public static readonly ApiSchema OAuthAuthorization = Object("OAuthAuthorization",
        Prop("object", OneOf("oauth.authorization")),
        Prop("state", String()),
        Prop("authorizationUrl", String("uri"), "Open it in a browser, sign in, and send the code back to oauth/complete."),
        Prop("expiresAt", DateTime()));

    public static readonly ApiSchema OAuthAuthorize = Object("OAuthAuthorize",
        Prop("provider", String()),
        Prop("name", String()),
        Prop("clientId", String()),
        Prop("redirectUri", String("uri")),
        Optional("authorizeUrl", String("uri")),
        Optional("tokenUrl", String("uri")),
        Optional("scopes", Strings),
        Optional("clientSecret", String()),
        Optional("models", Strings),
        Optional("priority", Integer()),
        Optional("baseUrl", String("uri")));

    public static readonly ApiSchema OAuthComplete = Object("OAuthComplete", Prop("state", String()), Prop("code", String()));

    private static ApiSchema QuotaLimits() => Object(null,
        Optional("daily_input_tokens", Integer().OrNull()),
        Optional("daily_output_tokens", Integer().OrNull()),
        Optional("daily_requests", Integer().OrNull()),
        Optional("monthly_input_tokens", Integer().OrNull()),
        Optional("monthly_output_tokens", Integer().OrNull()));
}
