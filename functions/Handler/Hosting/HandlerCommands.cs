using Serverless.Relay.Secrets;
using Serverless.Relay;
using Serverless.Webhooks;

namespace Serverless.Handler.Hosting;

/// <summary>
/// Verbs of the handler executable besides serving: <c>Serverless.Handler rotate-keys</c> re-encrypts every stored
/// secret under <c>RELAY_ENCRYPTION_KEY_ID</c>, with the same settings the app runs with.
/// </summary>
public static class HandlerCommands
{
    public const string RotateKeys = "rotate-keys";

    public static bool IsCommand(string[] args) => args is [RotateKeys, ..];

    /// <returns>The process exit code: 0 when every secret is now under the current key, 1 when some are unreadable.</returns>
    public static async Task<int> RunAsync(string[] args, TextWriter output, Action<IConfigurationBuilder>? configure = null)
    {
        var builder = Host.CreateApplicationBuilder(args[1..]);
        configure?.Invoke(builder.Configuration);

        // The same registrations as the app, so every store's EncryptedColumns is rotated (the webhooks' included);
        // only the rotation is resolved, so the rest of the graph (queues, functions) needs no validating here.
        builder.Services.AddRelayStorage(builder.Configuration);
        builder.Services.AddWebhooks(builder.Configuration);
        builder.Services.AddSingleton<SecretRotation>();
        builder.ConfigureContainer(new DefaultServiceProviderFactory(new ServiceProviderOptions { ValidateOnBuild = false }));
        using var host = builder.Build();
        var report = await host.Services.GetRequiredService<SecretRotation>().RotateAsync(CancellationToken.None);
        var kid = host.Services.GetRequiredService<EncryptionKeyRing>().CurrentKeyId;
        await output.WriteLineAsync($"rotate-keys: {report.Rows} rows, {report.Reencrypted} secrets re-encrypted under '{kid}', {report.AlreadyCurrent} already were, {report.Unreadable.Count} unreadable");
        foreach (var table in report.Tables)
        {
            var deleted = table.Deleted > 0 ? $", {table.Deleted} unreadable cached rows deleted" : "";
            await output.WriteLineAsync($"  {table.Table}: {table.Rows} rows, {table.Reencrypted} re-encrypted, {table.AlreadyCurrent} already current, {table.Unreadable.Count} unreadable{deleted}");
        }

        foreach (var item in report.Unreadable)
        {
            await output.WriteLineAsync("  unreadable: " + item);
        }

        return report.Unreadable.Count == 0 ? 0 : 1;
    }
}
