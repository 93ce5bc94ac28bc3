namespace Serverless.Relay.Admin;

/// <summary>The admin API's credential. Optional: without it the admin API answers 503.</summary>
internal sealed class AdminOptions
{
    public const string AdminKeySetting = "RELAY_ADMIN_KEY";

    public string? AdminKey { get; set; }
}
