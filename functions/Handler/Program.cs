using Microsoft.Extensions.Options;
using Serverless.Handler.Hosting;

if (HandlerCommands.IsCommand(args))
{
    return await HandlerCommands.RunAsync(args, Console.Out);
}

try
{
    await using var app = HandlerApp.Build(args);
    await app.RunAsync();
    return 0;
}
catch (Exception e) when (e is HandlerSettingsException or OptionsValidationException)
{
    // A refusal to start is a message for whoever sets the app settings, not a crash with a stack trace.
    await Console.Error.WriteLineAsync("The handler cannot start: " + e.Message);
    return 1;
}
