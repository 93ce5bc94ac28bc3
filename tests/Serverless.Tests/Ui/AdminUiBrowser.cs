using Microsoft.Playwright;
using Serverless.Tests.EndToEnd;
using Serverless.Tests.Infrastructure;
using Serverless.Tests.Upstreams;
using Xunit;

namespace Serverless.Tests.Ui;

/// <summary>
/// A relay with an account on a loopback upstream and real traffic behind it, and a headless Chromium (Debian's
/// <c>/usr/bin/chromium</c>, driven by Playwright; no downloaded browser) to look at its admin UI.
/// </summary>
public sealed class AdminUiBrowser(AzuriteFixture azurite) : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";
    public const int RelayedRequests = 3;

    private IPlaywright? _playwright;

    internal RelayHost Host { get; private set; } = null!;

    internal LoopbackUpstream Upstream { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    public string AccountId { get; private set; } = "";

    public string KeyId { get; private set; } = "";

    /// <summary>Where screenshots go: TestResults/ui-screenshots at the repository root (ignored by git, kept by CI as artifacts).</summary>
    public static string ScreenshotDirectory { get; } = Path.Combine(RepoPaths.Root, "TestResults", "ui-screenshots");

    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException($"The admin UI tests need Chromium at {ChromiumPath}: apt-get install -y chromium (scripts/test.sh does when it runs as root).");
        }

        Upstream = await LoopbackUpstream.StartAsync(CancellationToken.None);
        Host = await RelayHost.StartAsync(azurite);
        AccountId = await Host.CreateLoopbackAccountAsync(Upstream, "openai", ["m-ui"], new Dictionary<string, string> { ["m-ui"] = "gpt-test" });
        (KeyId, var key) = await Host.CreateKeyWithIdAsync(new { name = "ui traffic", owner = "ui-team", limits = new { rpm = 50, dailyCostUsd = 5 } });
        using var http = Host.CreateClient();
        for (var i = 0; i < RelayedRequests; i++)
        {
            using var request = new OpenAIChatDriver().Build(Scenario.Text, "m-ui", stream: i == 0, key);
            using var answer = await http.SendAsync(request);
            answer.EnsureSuccessStatusCode();
        }

        await Host.UsageRowsAsync(KeyId, RelayedRequests, TimeSpan.FromSeconds(20));
        Directory.CreateDirectory(ScreenshotDirectory);
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        });
    }

    /// <summary>A fresh browser context (its own session storage) on a page that records console errors (CSP violations among them).</summary>
    public async Task<(IBrowserContext Context, IPage Page, List<string> Errors)> OpenAsync()
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = Host.BaseUri.ToString(), ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        context.SetDefaultTimeout(15_000);
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                errors.Add(message.Text);
            }
        };
        page.Response += (_, response) =>
        {
            if (response.Status >= 400)
            {
                errors.Add($"{response.Request.Method} {response.Url}: {response.Status}");
            }
        };
        page.PageError += (_, error) => errors.Add(error);
        return (context, page, errors);
    }

    public static async Task SignInAsync(IPage page, string key = RelayHost.AdminKey)
    {
        await page.GotoAsync("ui/");
        await page.GetByLabel("Admin key").FillAsync(key);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
    }

    public static Task ScreenshotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDirectory, name + ".png"), FullPage = true });

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
        if (Host is not null)
        {
            await Host.DisposeAsync();
        }

        if (Upstream is not null)
        {
            await Upstream.DisposeAsync();
        }
    }
}
