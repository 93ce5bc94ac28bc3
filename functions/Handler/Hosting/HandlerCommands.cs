using Serverless.Relay.Secrets;
using Serverless.Relay.Storage;
using Serverless.Relay.Accounts;
using Serverless.Relay;

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
        builder.Services.AddRelayStorage(builder.Configuration);
        builder.Services.AddSingleton<SecretRotation>();
        using var host = builder.Build();
        var report = await host.Services.GetRequiredService<SecretRotation>().RotateAsync(CancellationToken.None);
        var kid = host.Services.GetRequiredService<EncryptionKeyRing>().CurrentKeyId;
        await output.WriteLineAsync($"rotate-keys: {report.Rows} accounts, {report.Reencrypted} secrets re-encrypted under '{kid}', {report.AlreadyCurrent} already were, {report.Unreadable.Count} unreadable");
        foreach (var item in report.Unreadable)
        {
            await output.WriteLineAsync("  unreadable: " + item);
        }

        return report.Unreadable.Count == 0 ? 0 : 1;
    }
}
