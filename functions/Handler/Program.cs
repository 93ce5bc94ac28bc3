using Serverless.Handler.Hosting;

if (HandlerCommands.IsCommand(args))
{
    return await HandlerCommands.RunAsync(args, Console.Out);
}

await using var app = HandlerApp.Build(args);
await app.RunAsync();
return 0;
