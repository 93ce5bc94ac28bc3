namespace Serverless.Relay.ApiDocs;

/// <summary>A query parameter of an operation.</summary>
internal sealed record ApiParameter(string Name, ApiSchema Schema, string Description, bool Required = false);

/// <summary>
/// What the document says of one route: a summary, its query parameters, the body it takes and the one it answers
/// with, and the error statuses it can answer (each in the admin API's error shape).
/// </summary>
internal sealed record ApiOperation(string Summary)
{
    public string? Description { get; init; }

    public IReadOnlyList<ApiParameter> Query { get; init; } = [];

    /// <summary>The JSON body a write takes; null for none.</summary>
    public ApiSchema? Request { get; init; }

    /// <summary>200, 201 for a creation, 204 without a body.</summary>
    public int Status { get; init; } = 200;

    /// <summary>The answer's body; null with 204.</summary>
    public ApiSchema? Response { get; init; }

    /// <summary>Error statuses beyond 401 (every route) and 400 (every route with a body or query).</summary>
    public IReadOnlyList<int> Errors { get; init; } = [];
}

/// <summary>One documented route: method, path from the app's root (<c>/api/admin/keys/{id}</c>) and what it does.</summary>
internal sealed record ApiRoute(string Method, string Path, ApiOperation Operation, string Security = ApiRoute.AdminKey)
{
    /// <summary>The operator's <c>RELAY_ADMIN_KEY</c>.</summary>
    public const string AdminKey = "adminKey";

    /// <summary>A relay client key (the quota and key-info routes).</summary>
    public const string RelayKey = "relayKey";
}
