using System.Buffers;
using System.Globalization;
using System.Text;

namespace Serverless.Bench;

/// <summary>
/// A simulated table endpoint for <c>BENCH_STORAGE=sink</c>: it stands in front of Azurite's table service and forwards
/// every request to it, except the <c>$batch</c> upserts into the tables named by <c>--absorb</c> (the relay's per-request
/// usage and audit rows), which it counts and answers as committed without storing them. <c>GET /sink/stats</c> tells
/// how many rows and batches it took.
/// </summary>
/// <remarks>
/// Why: in Azure the storage account is a remote service and writing a row costs the relay's instance only the request.
/// Here in-memory Azurite runs on the load CPU and spends 3-10x the relay's CPU per relayed request writing its rows, so
/// every measurement on that CPU (wrk, the upstream) follows Azurite's backlog, and a relay holding a backlog of queued
/// rows pays for it in GC. The sink keeps the relay's whole write path (batching, serialization, signing, one HTTP
/// request per batch) and drops only the storing. Keys, accounts, sessions, counters and totals still live in Azurite.
/// </remarks>
internal static class TableSink
{
    public static async Task<int> RunAsync(CommandLine options)
    {
        var storage = new Uri(options.Required("storage").TrimEnd('/'));
        var absorbed = options.Required("absorb").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(Encoding.UTF8.GetBytes).ToArray();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(System.Net.IPAddress.Loopback, options.Int("port", 0));
            k.Limits.MaxRequestBodySize = null;
        });
        var app = builder.Build();
        using var forwarder = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
            AutomaticDecompression = System.Net.DecompressionMethods.None,
        });
        long rows = 0, batches = 0, forwarded = 0;

        app.Run(async context =>
        {
            var request = context.Request;
            if (HttpMethods.IsGet(request.Method) && request.Path == "/sink/stats")
            {
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync(
                    $"{{\"rowsAbsorbed\":{Interlocked.Read(ref rows)},\"batchesAbsorbed\":{Interlocked.Read(ref batches)},\"forwarded\":{Interlocked.Read(ref forwarded)}}}");
                return;
            }

            byte[]? body = null;
            if (HttpMethods.IsPost(request.Method) && request.Path.Value?.EndsWith("/$batch", StringComparison.Ordinal) == true)
            {
                // NOTE: pooled, not a MemoryStream and a string: a batch of 100 rows is about 100 KB, and large-object
                // allocations per batch (zeroed, page-faulted) made the sink cost as much CPU as wrk on the load CPU.
                var (buffer, length) = await ReadPooledAsync(request, context.RequestAborted);
                try
                {
                    if (AbsorbedUpserts(buffer.AsSpan(0, length), absorbed) is { } count)
                    {
                        Interlocked.Add(ref rows, count);
                        Interlocked.Increment(ref batches);
                        await WriteCommittedAsync(context.Response, count, context.RequestAborted);
                        return;
                    }

                    body = buffer.AsSpan(0, length).ToArray();
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }

            Interlocked.Increment(ref forwarded);
            await ForwardAsync(forwarder, storage, context, body);
        });
        await app.StartAsync();

        var url = app.Urls.First();
        if (options.Optional("ready-file") is { } readyFile)
        {
            await File.WriteAllTextAsync(readyFile, new Uri(url).Port.ToString(CultureInfo.InvariantCulture));
        }

        await Console.Out.WriteLineAsync($"table sink listening on {url}, forwarding to {storage}, absorbing {options.Required("absorb")}");
        await app.WaitForShutdownAsync();
        return 0;
    }

    /// <summary>
    /// The number of operations when every operation of the batch is a <c>PUT</c> (upsert) into an absorbed table;
    /// null when anything else is in it (it is forwarded whole).
    /// </summary>
    internal static int? AbsorbedUpserts(ReadOnlySpan<byte> body, byte[][] absorbed)
    {
        ReadOnlySpan<byte> requestLineEnd = " HTTP/1.1\r\n"u8;
        var operations = 0;
        for (var end = body.IndexOf(requestLineEnd); end >= 0;)
        {
            // "PUT http://host/account/usage(PartitionKey='…',RowKey='…') HTTP/1.1"
            var line = body[(body[..end].LastIndexOf((byte)'\n') + 1)..end];
            var space = line.IndexOf((byte)' ');
            var target = space < 0 ? line : line[(space + 1)..];
            var open = target.IndexOf((byte)'(');
            var path = open < 0 ? target : target[..open];
            var table = path[(path.LastIndexOf((byte)'/') + 1)..];
            if (!line.StartsWith("PUT "u8) || !IsAbsorbed(table, absorbed))
            {
                return null;
            }

            operations++;
            var next = body[(end + requestLineEnd.Length)..].IndexOf(requestLineEnd);
            end = next < 0 ? -1 : end + requestLineEnd.Length + next;
        }

        return operations > 0 ? operations : null;
    }

    private static bool IsAbsorbed(ReadOnlySpan<byte> table, byte[][] absorbed)
    {
        foreach (var name in absorbed)
        {
            if (table.SequenceEqual(name))
            {
                return true;
            }
        }

        return false;
    }

    private static async Task<(byte[] Buffer, int Length)> ReadPooledAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(request.ContentLength ?? 64 * 1024, 4 * 1024 * 1024) + 1);
        var length = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                buffer.AsSpan(0, length).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = larger;
            }

            var read = await request.Body.ReadAsync(buffer.AsMemory(length), cancellationToken);
            if (read == 0)
            {
                return (buffer, length);
            }

            length += read;
        }
    }

    // The service's answer to a committed changeset: 202, one 204 per operation (as with Prefer: return-no-content).
    private static async Task WriteCommittedAsync(HttpResponse response, int operations, CancellationToken cancellationToken)
    {
        var batch = "batchresponse_" + Guid.NewGuid().ToString("D");
        var changeset = "changesetresponse_" + Guid.NewGuid().ToString("D");
        response.StatusCode = StatusCodes.Status202Accepted;
        response.ContentType = "multipart/mixed; boundary=" + batch;
        response.Headers["x-ms-version"] = "2019-02-02";
        var output = response.BodyWriter;
        Append(output, $"--{batch}\r\nContent-Type: multipart/mixed; boundary={changeset}\r\n\r\n");
        var part = Encoding.UTF8.GetBytes(
            $"--{changeset}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nHTTP/1.1 204 No Content\r\nX-Content-Type-Options: nosniff\r\nCache-Control: no-cache\r\nPreference-Applied: return-no-content\r\nDataServiceVersion: 3.0;\r\n\r\n\r\n");
        for (var i = 0; i < operations; i++)
        {
            output.Write(part);
        }

        Append(output, $"--{changeset}--\r\n--{batch}--\r\n");
        await output.FlushAsync(cancellationToken);
    }

    private static void Append(IBufferWriter<byte> output, string text) => output.Write(Encoding.UTF8.GetBytes(text));

    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade", "Proxy-Connection", "TE", "Trailer",
    };

    private static async Task ForwardAsync(HttpMessageInvoker forwarder, Uri storage, HttpContext context, byte[]? bufferedBody)
    {
        var request = context.Request;
        // NOTE: the raw target, not Path + QueryString: those re-escape the path, and the service checks the shared-key
        // signature against the path exactly as the client signed it.
        var target = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()!.RawTarget;
        using var message = new HttpRequestMessage(new HttpMethod(request.Method), storage.GetLeftPart(UriPartial.Authority) + target);
        var hasBody = bufferedBody is not null || request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0;
        if (hasBody)
        {
            message.Content = bufferedBody is not null ? new ByteArrayContent(bufferedBody) : new StreamContent(request.Body);
        }

        foreach (var (name, values) in request.Headers)
        {
            if (HopByHop.Contains(name))
            {
                continue;
            }

            if (!message.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
            {
                message.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }

        using var answer = await forwarder.SendAsync(message, context.RequestAborted);
        var response = context.Response;
        response.StatusCode = (int)answer.StatusCode;
        foreach (var (name, values) in answer.Headers.Concat(answer.Content.Headers))
        {
            if (!HopByHop.Contains(name))
            {
                response.Headers[name] = values.ToArray();
            }
        }

        await answer.Content.CopyToAsync(response.Body, context.RequestAborted);
    }
}
