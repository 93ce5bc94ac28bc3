using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Azure.Core;
using Azure.Core.Pipeline;

namespace Serverless.Relay.Storage.Batches;

/// <summary>
/// Signs a Table service request with the account key (Shared Key Lite, the scheme the Table SDK uses):
/// HMAC-SHA256 over the request's <c>x-ms-date</c> and its canonical resource, <c>/{account}{path}</c>. Runs on every
/// try, so a retried request carries a fresh date.
/// </summary>
internal sealed class SharedKeyLitePolicy(string accountName, byte[] accountKey) : HttpPipelineSynchronousPolicy
{
    public override void OnSendingRequest(HttpMessage message)
    {
        var date = DateTimeOffset.UtcNow.ToString("r", CultureInfo.InvariantCulture);
        message.Request.Headers.SetValue("x-ms-date", date);
        var resource = "/" + accountName + message.Request.Uri.ToUri().AbsolutePath;
        var signature = Convert.ToBase64String(HMACSHA256.HashData(accountKey, Encoding.UTF8.GetBytes(date + "\n" + resource)));
        message.Request.Headers.SetValue("Authorization", $"SharedKeyLite {accountName}:{signature}");
    }
}
