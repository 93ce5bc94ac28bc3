using System.Security.Cryptography;
using Microsoft.Extensions.ObjectPool;

namespace Serverless.Relay.Buffers;

/// <summary>
/// SHA-256 hashes reused from request to request: rent one, read its digest with
/// <see cref="IncrementalHash.GetHashAndReset()"/> (which leaves it at its start), give it back.
/// </summary>
/// <remarks>
/// NOTE: why. Each new hash is a native context and a finalizable handle, and every response's audit digest made one
/// (bench/ANALYSIS.md, "Reading a stream's events, and the audit digest's hash"). A request in flight holds one, so the
/// pool keeps as many as a busy instance has requests (the framework's default, two per core, made nearly every
/// request create one again); it disposes what it does not keep.
/// </remarks>
internal static class Sha256Pool
{
    private static readonly ObjectPool<IncrementalHash> Hashes = new DefaultObjectPoolProvider { MaximumRetained = 1024 }.Create(new Policy());

    public static IncrementalHash Rent() => Hashes.Get();

    /// <summary>Gives <paramref name="hash"/> back: kept when <paramref name="finished"/> (its digest was read, so it is at its start), else disposed.</summary>
    public static void Return(IncrementalHash hash, bool finished)
    {
        if (finished)
        {
            Hashes.Return(hash);
        }
        else
        {
            hash.Dispose();
        }
    }

    private sealed class Policy : PooledObjectPolicy<IncrementalHash>
    {
        public override IncrementalHash Create() => IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public override bool Return(IncrementalHash obj) => true;
    }
}
