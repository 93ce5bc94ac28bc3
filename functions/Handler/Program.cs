using Serverless.Handler.Hosting;

await using var app = HandlerApp.Build(args);
await app.RunAsync();
