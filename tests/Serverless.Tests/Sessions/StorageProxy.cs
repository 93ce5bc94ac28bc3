using System.Net;
using System.Net.Sockets;
using Serverless.Tests.Infrastructure;

namespace Serverless.Tests.Sessions;

/// <summary>
/// A loopback TCP proxy in front of one of Azurite's ports that can be told to misbehave: forward, refuse (close every
/// connection at once), or hang (accept and never answer). Switching mode cuts the connections already open, so the
/// SDK's pooled connections see the change at once. <see cref="ConnectDelay"/> makes each new connection as slow to
/// open as a storage account far away, so calls made one at a time keep to one connection and calls made at once open
/// one each.
/// </summary>
internal sealed class StorageProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _open = [];
    private volatile StorageMode _mode = StorageMode.Forward;
    private Task? _accepting;

    private StorageProxy(int targetPort) => _targetPort = targetPort;

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Connections accepted so far (every mode).</summary>
    public int Connections => Volatile.Read(ref _connections);

    private int _connections;

    /// <summary>The most connections forwarded at the same time so far.</summary>
    public int PeakForwarded => _forwarded.Peak;

    private readonly PeakGauge _forwarded = new();

    /// <summary>How long a forwarded connection waits before it reaches the target (none by default).</summary>
    public TimeSpan ConnectDelay { get; set; }

    public StorageMode Mode
    {
        get => _mode;
        set
        {
            lock (_open)
            {
                _mode = value;
                foreach (var client in _open)
                {
                    client.Dispose();
                }

                _open.Clear();
            }
        }
    }

    public static StorageProxy Start(int targetPort)
    {
        var proxy = new StorageProxy(targetPort);
        proxy._listener.Start();
        proxy._accepting = proxy.AcceptAsync();
        return proxy;
    }

    /// <summary><paramref name="connectionString"/> with its table endpoint moved to this proxy.</summary>
    public string Through(string connectionString) =>
        connectionString.Replace($"127.0.0.1:{_targetPort}/", $"127.0.0.1:{Port}/", StringComparison.Ordinal);

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                // A connection aborted before it was accepted: keep accepting (a dead loop would hang every client).
                continue;
            }

            Interlocked.Increment(ref _connections);

            // NOTE: the mode is read and the connection tracked under the lock the mode switch takes. Read outside it,
            // a connection accepted in Hang just as the test switched to Forward was tracked after the switch had
            // cut the open ones: it stayed open and silent for good, as no storage service would once it answers again.
            StorageMode mode;
            lock (_open)
            {
                mode = _mode;
                if (mode != StorageMode.Refuse)
                {
                    _open.Add(client);
                }
            }

            if (mode == StorageMode.Refuse)
            {
                client.Client.LingerState = new LingerOption(true, 0); // a reset, like a closed port
                client.Dispose();
            }
            else if (mode == StorageMode.Forward)
            {
                _ = ForwardAsync(client);
            }
        }
    }

    private bool TrackWhileForwarding(TcpClient upstream)
    {
        lock (_open)
        {
            if (_mode != StorageMode.Forward)
            {
                return false;
            }

            _open.Add(upstream);
            return true;
        }
    }

    private async Task ForwardAsync(TcpClient client)
    {
        using var upstream = new TcpClient();
        _forwarded.Enter();
        try
        {
            if (ConnectDelay > TimeSpan.Zero)
            {
                await Task.Delay(ConnectDelay, _stop.Token);
            }

            await upstream.ConnectAsync(IPAddress.Loopback, _targetPort, _stop.Token);
            if (!TrackWhileForwarding(upstream))
            {
                return; // the mode changed while connecting: the client side is already cut
            }

            var down = client.GetStream();
            var up = upstream.GetStream();
            await Task.WhenAny(down.CopyToAsync(up, _stop.Token), up.CopyToAsync(down, _stop.Token));
        }
        catch (Exception)
        {
            // A cut connection: the mode changed or a side closed.
        }
        finally
        {
            _forwarded.Leave();
            client.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Mode = StorageMode.Refuse;
        if (_accepting is not null)
        {
            await _accepting.WaitAsync(TimeSpan.FromSeconds(10));
        }

        _stop.Dispose();
    }
}

public enum StorageMode
{
    Forward,
    Refuse,
    Hang,
}
