using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Serverless.Tests.Infrastructure;
using Xunit;

namespace Serverless.Tests.Ui;

/// <summary>
/// The admin UI in a real browser against a running relay: sign-in (and a wrong key refused), a usage chart drawn from
/// real requests, a key created with its plaintext shown once, an account's priority changed, every page rendered
/// without a console or CSP error, with a screenshot of each.
/// </summary>
public sealed partial class AdminUiTests(AdminUiBrowser ui) : IClassFixture<AdminUiBrowser>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Signs in, goes to the keys page and opens its new-key form.</summary>
    private static async Task<ILocator> OpenNewKeyFormAsync(IPage page)
    {
        await AdminUiBrowser.SignInAsync(page);
        await page.GetByRole(AriaRole.Link, new() { Name = "Keys" }).ClickAsync();
        await page.GetByText("New key").ClickAsync();
        return page.Locator("#new-key");
    }

    [Fact]
    public async Task SignIn_WrongAdminKey_RefusedWithAMessage_NothingKept()
    {
        var (context, page, _) = await ui.OpenAsync();
        await using var _ = context;

        await AdminUiBrowser.SignInAsync(page, "not-the-admin-key");

        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync("That admin key was refused.");
        Assert.Null(await page.EvaluateAsync<string?>("() => sessionStorage.getItem('relay.adminKey')"));
        await AdminUiBrowser.ScreenshotAsync(page, "sign-in-refused");
    }

    [Fact]
    public async Task Overview_AfterRealRequests_TotalsAndChartsDrawnFromUsage()
    {
        var (context, page, errors) = await ui.OpenAsync();
        await using var _ = context;

        await AdminUiBrowser.SignInAsync(page);

        await Assertions.Expect(page.GetByTestId("total-requests")).ToHaveTextAsync(AdminUiBrowser.RelayedRequests.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await Assertions.Expect(page.Locator(".chart canvas")).ToHaveCountAsync(3);
        // The requests chart spans the last 24 hours and its line adds up to the requests relayed.
        Assert.Equal("24", await page.Locator(".chart").First.GetAttributeAsync("data-points"));
        Assert.Equal(AdminUiBrowser.RelayedRequests.ToString(System.Globalization.CultureInfo.InvariantCulture), await page.Locator(".chart").First.GetAttributeAsync("data-first-series-sum"));
        await Assertions.Expect(page.Locator(".columns table").First).ToContainTextAsync(ui.KeyId);
        await Assertions.Expect(page.Locator(".tiles")).ToContainTextAsync(new Regex(@"\d+(\.\d+)? ms"));
        // The admin key is in session storage, and in no URL the page used.
        Assert.Equal(RelayHost.AdminKey, await page.EvaluateAsync<string>("() => sessionStorage.getItem('relay.adminKey')"));
        Assert.DoesNotContain(RelayHost.AdminKey, page.Url, StringComparison.Ordinal);
        await AdminUiBrowser.ScreenshotAsync(page, "overview");
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    [Fact]
    public async Task Keys_CreateKey_PlaintextShownOnceAndWorks_GoneAfterReload()
    {
        var (context, page, errors) = await ui.OpenAsync();
        await using var _ = context;
        var form = await OpenNewKeyFormAsync(page);
        await form.GetByLabel("Name").FillAsync("made in the browser");
        await form.GetByLabel("Owner").FillAsync("browser-team");
        await form.GetByLabel("rpm").FillAsync("7");
        await form.GetByRole(AriaRole.Button, new() { Name = "Create key" }).ClickAsync();

        var plaintext = await page.GetByTestId("new-key-plaintext").TextContentAsync();
        Assert.StartsWith("sk-relay-", plaintext, StringComparison.Ordinal);
        await Assertions.Expect(page.Locator("article", new() { HasText = "made in the browser" })).ToContainTextAsync("rpm");
        await AdminUiBrowser.ScreenshotAsync(page, "keys-created");

        // The plaintext is a working relay key, with the limits typed in.
        using (var http = ui.Host.CreateClient())
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "v1/key-info");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", plaintext);
            using var answer = await http.SendAsync(request, Ct);
            var body = await answer.Content.ReadAsStringAsync(Ct);
            Assert.True(answer.IsSuccessStatusCode, body);
            Assert.Contains("\"rpm\":7", body, StringComparison.Ordinal);
            Assert.Contains("browser-team", body, StringComparison.Ordinal);
        }

        await page.ReloadAsync();
        await Assertions.Expect(page.Locator("article", new() { HasText = "made in the browser" })).ToBeVisibleAsync();
        Assert.DoesNotContain(plaintext!, await page.ContentAsync(), StringComparison.Ordinal);
        await Assertions.Expect(page.GetByTestId("new-key-plaintext")).ToHaveCountAsync(0);
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    [Fact]
    public async Task Keys_LimitsTypedBeforeThePageRedraws_KeptInTheCreatedKey()
    {
        var (context, page, errors) = await ui.OpenAsync();
        await using var _ = context;
        var form = await OpenNewKeyFormAsync(page);
        var create = form.GetByRole(AriaRole.Button, new() { Name = "Create key" });

        // A first key, so that the page shows its plaintext notice.
        await form.GetByLabel("Name").FillAsync("redraw first");
        await create.ClickAsync();
        await Assertions.Expect(page.GetByTestId("new-key-plaintext")).ToBeVisibleAsync();

        // Limits typed, then the page redraws (the notice closed) before the form is sent: a redraw must not empty
        // them, as it did when the inputs were bound to their starting value.
        await form.GetByLabel("Name").FillAsync("redraw second");
        await form.GetByLabel("rpm").FillAsync("11");
        await form.GetByLabel("maxConcurrency").FillAsync("3");
        await page.GetByRole(AriaRole.Button, new() { Name = "Done" }).ClickAsync();
        await Assertions.Expect(page.GetByTestId("new-key-plaintext")).ToHaveCountAsync(0);
        await create.ClickAsync();

        await Assertions.Expect(page.Locator("article", new() { HasText = "redraw second" })).ToContainTextAsync("rpm");
        var keys = (await ui.Host.SendAsync(HttpMethod.Get, "api/admin/keys", ct: Ct)).Json.GetProperty("data").EnumerateArray();
        var second = keys.Single(k => k.GetProperty("name").GetString() == "redraw second");
        Assert.Equal(11, second.GetProperty("limits").GetProperty("rpm").GetInt32());
        Assert.Equal(3, second.GetProperty("limits").GetProperty("maxConcurrency").GetInt32());
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    [Fact]
    public async Task Accounts_ChangePriority_PersistedThroughTheApi()
    {
        var (context, page, errors) = await ui.OpenAsync();
        await using var _ = context;
        await AdminUiBrowser.SignInAsync(page);
        await page.GetByRole(AriaRole.Link, new() { Name = "Accounts" }).ClickAsync();

        var card = page.Locator($"article[data-account-id='{ui.AccountId}']");
        await Assertions.Expect(card).ToContainTextAsync("available");
        await card.GetByLabel("Priority").FillAsync("9");
        await card.GetByRole(AriaRole.Button, new() { Name = "Set priority" }).ClickAsync();

        await Eventually.TrueAsync("priority 9 through the API", async ct =>
            (await ui.Host.SendAsync(HttpMethod.Get, $"api/admin/accounts/{ui.AccountId}", ct: ct)).Json.GetProperty("priority").GetInt32() == 9);
        await Assertions.Expect(card.GetByLabel("Priority")).ToHaveValueAsync("9");
        await AdminUiBrowser.ScreenshotAsync(page, "accounts");
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    [Fact]
    public async Task Accounts_PriorityTypedBeforeTheCardRedraws_KeptWhenSet()
    {
        // An account of its own (a model no other test asks for), so disabling it changes nothing else.
        var accountId = await ui.Host.CreateLoopbackAccountAsync(ui.Upstream, "openai", ["m-ui-redraw"]);
        var (context, page, errors) = await ui.OpenAsync();
        await using var _ = context;
        await AdminUiBrowser.SignInAsync(page);
        await page.GetByRole(AriaRole.Link, new() { Name = "Accounts" }).ClickAsync();
        var card = page.Locator($"article[data-account-id='{accountId}']");

        // The priority typed, then the card redraws (the account disabled, the list read again) before it is set: a
        // redraw must not put the old priority back, as it did when the input was bound to it.
        await card.GetByLabel("Priority").FillAsync("6");
        await card.GetByRole(AriaRole.Button, new() { Name = "Disable" }).ClickAsync();
        await Assertions.Expect(card.GetByRole(AriaRole.Button, new() { Name = "Enable" })).ToBeVisibleAsync();
        await Assertions.Expect(card.GetByLabel("Priority")).ToHaveValueAsync("6");
        await card.GetByRole(AriaRole.Button, new() { Name = "Set priority" }).ClickAsync();

        await Eventually.TrueAsync("priority 6 through the API", async ct =>
            (await ui.Host.SendAsync(HttpMethod.Get, $"api/admin/accounts/{accountId}", ct: ct)).Json.GetProperty("priority").GetInt32() == 6);
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    [Theory]
    [InlineData("overview", "Overview")]
    [InlineData("keys", "Keys")]
    [InlineData("accounts", "Accounts")]
    [InlineData("models", "Model groups")]
    [InlineData("pricing", "Pricing")]
    [InlineData("channels", "IM channels")]
    [InlineData("notifications", "Notification targets")]
    public async Task EveryPage_RendersWithoutConsoleOrCspErrors_Screenshot(string page, string heading)
    {
        var (context, tab, errors) = await ui.OpenAsync();
        await using var _ = context;
        await AdminUiBrowser.SignInAsync(tab);

        await tab.GotoAsync($"ui/#/{page}");

        await Assertions.Expect(tab.GetByRole(AriaRole.Heading, new() { Name = heading, Level = 1 })).ToBeVisibleAsync();
        await Assertions.Expect(tab.GetByText("Loading…")).ToHaveCountAsync(0);
        await AdminUiBrowser.ScreenshotAsync(tab, "page-" + page);
        Assert.True(new FileInfo(Path.Combine(AdminUiBrowser.ScreenshotDirectory, $"page-{page}.png")).Length > 1000);
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    [Fact]
    public async Task Served_ShellWithStrictHeaders_AssetsHashedAndImmutable_BundleUnder300KB()
    {
        using var http = ui.Host.CreateClient();
        using var shell = await http.GetAsync("ui/", Ct);
        var html = await shell.Content.ReadAsStringAsync(Ct);

        Assert.Equal("text/html", shell.Content.Headers.ContentType?.MediaType);
        var csp = string.Join(";", shell.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'self'", csp, StringComparison.Ordinal);
        Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
        Assert.Equal("nosniff", shell.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("no-referrer", shell.Headers.GetValues("Referrer-Policy").Single());
        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("http://", html.Replace(ui.Host.BaseUri.ToString(), "", StringComparison.Ordinal), StringComparison.Ordinal);

        var assets = AssetPattern().Matches(html).Select(m => m.Groups["path"].Value).ToList();
        Assert.Equal(2, assets.Count);
        long total = 0;
        foreach (var asset in assets)
        {
            using var answer = await http.GetAsync("ui/" + asset, Ct);
            Assert.True(answer.IsSuccessStatusCode, asset);
            Assert.Contains("immutable", answer.Headers.CacheControl?.ToString(), StringComparison.Ordinal);
            total += (await answer.Content.ReadAsByteArrayAsync(Ct)).Length;
        }

        Assert.InRange(total, 10_000, 300_000);
        using var missing = await http.GetAsync("ui/assets/nope.js", Ct);
        Assert.Equal(404, (int)missing.StatusCode);
        using var traversal = await http.GetAsync("ui/..%2F..%2Fhost.json", Ct);
        Assert.NotEqual(200, (int)traversal.StatusCode);
    }

    [GeneratedRegex("(?:src|href)=\"(?<path>assets/[^\"]+)\"")]
    private static partial Regex AssetPattern();
}
