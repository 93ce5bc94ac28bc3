var app = WebApplication.CreateSlimBuilder(args).Build();
app.MapGet("/", () => Results.Ok());
app.Run();
