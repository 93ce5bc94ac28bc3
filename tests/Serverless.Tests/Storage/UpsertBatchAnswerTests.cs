using System.Text;
using Azure;
using Serverless.Relay.Metering;
using Serverless.Relay.Storage.Batches;
using Xunit;

namespace Serverless.Tests.Storage;

/// <summary>Reading a <c>$batch</c> answer in the Table service's shape (its documented examples), without a service.</summary>
public sealed class UpsertBatchAnswerTests
{
    private const string Committed =
        "--batchresponse_1\r\nContent-Type: multipart/mixed; boundary=changesetresponse_2\r\n\r\n" +
        "--changesetresponse_2\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n" +
        "HTTP/1.1 204 No Content\r\nX-Content-Type-Options: nosniff\r\nDataServiceVersion: 3.0;\r\nETag: W/\"1\"\r\n\r\n\r\n" +
        "--changesetresponse_2\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n" +
        "HTTP/1.1 204 No Content\r\nETag: W/\"2\"\r\n\r\n\r\n" +
        "--changesetresponse_2--\r\n--batchresponse_1--\r\n";

    private static string Failed(string status, string body) =>
        "--batchresponse_1\r\nContent-Type: multipart/mixed; boundary=changesetresponse_2\r\n\r\n" +
        "--changesetresponse_2\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n" +
        $"HTTP/1.1 {status}\r\nContent-Type: application/json;odata=minimalmetadata;streaming=true;charset=utf-8\r\n\r\n" +
        body + "\r\n--changesetresponse_2--\r\n--batchresponse_1--\r\n";

    [Fact]
    public void EnsureCommitted_EveryOperationSucceeded_Returns()
    {
        UpsertBatchAnswer.EnsureCommitted(Encoding.UTF8.GetBytes(Committed));
    }

    [Fact]
    public void EnsureCommitted_ARowRefused_NamesItsIndexCodeAndStatus()
    {
        var body = """{"odata.error":{"code":"PropertyValueTooLarge","message":{"lang":"en-US","value":"7:The property value exceeds the maximum allowed size (64KB).\nRequestId:x\nTime:y"}}}""";

        var refused = Assert.Throws<TableBatchRejectedException>(() => UpsertBatchAnswer.EnsureCommitted(Encoding.UTF8.GetBytes(Failed("400 Bad Request", body))));

        Assert.Equal(7, refused.FailedIndex);
        Assert.Equal(400, refused.Status);
        Assert.Equal("PropertyValueTooLarge", refused.ErrorCode);
        Assert.False(UsageRetry.IsTransient(refused));
    }

    [Fact]
    public void EnsureCommitted_ServiceBusyInsideTheChangeset_IsTransientWithoutAnIndex()
    {
        var body = """{"odata.error":{"code":"ServerBusy","message":{"lang":"en-US","value":"The server is busy."}}}""";

        var refused = Assert.Throws<TableBatchRejectedException>(() => UpsertBatchAnswer.EnsureCommitted(Encoding.UTF8.GetBytes(Failed("503 Service Unavailable", body))));

        Assert.Null(refused.FailedIndex);
        Assert.True(UsageRetry.IsTransient(refused));
    }

    [Fact]
    public void EnsureCommitted_ErrorBodyNotOData_StillFailsWithTheStatus()
    {
        var refused = Assert.Throws<TableBatchRejectedException>(() => UpsertBatchAnswer.EnsureCommitted(Encoding.UTF8.GetBytes(Failed("409 Conflict", "<html>no</html>"))));

        Assert.Equal(409, refused.Status);
        Assert.Null(refused.FailedIndex);
    }

    [Fact]
    public void EnsureCommitted_NoOperationInTheAnswer_FailsForGoodRatherThanRetryingForever()
    {
        var refused = Assert.Throws<RequestFailedException>(() => UpsertBatchAnswer.EnsureCommitted("--batchresponse_1--\r\n"u8));

        Assert.False(UsageRetry.IsTransient(refused));
    }
}
