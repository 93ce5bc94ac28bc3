using Serverless.Relay.Audit;
using Xunit;

namespace Serverless.Tests.Audit;

public sealed class AuditKeysTests
{
    [Fact]
    public void NewRequestId_AnyTime_IsAVersion7UuidCarryingItsMillisecond()
    {
        var at = new DateTimeOffset(2026, 12, 4, 13, 37, 5, 123, TimeSpan.Zero);

        var id = AuditKeys.NewRequestId(at);

        Assert.Matches("^req_[0-9a-f]{32}$", id);
        var uuid = Guid.ParseExact(id["req_".Length..], "N");
        Assert.Equal(7, uuid.Version);
        Assert.Contains(id["req_".Length..][16], "89ab"); // the RFC 9562 variant, 10xx
        Assert.Equal(at, AuditKeys.TimeOf(id));
        Assert.Equal(Guid.CreateVersion7(at).ToString("N")[..12], id["req_".Length..][..12]);
    }

    [Fact]
    public void NewRequestId_ManyIds_SortByTimeAndNeverRepeat()
    {
        var start = new DateTimeOffset(2026, 12, 4, 0, 0, 0, TimeSpan.Zero);
        var ids = Enumerable.Range(0, 20_000).Select(i => AuditKeys.NewRequestId(start.AddMilliseconds(i / 1000))).ToList();

        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
        var earlier = ids.Where((_, i) => i / 1000 == 3).ToList();
        var later = ids.Where((_, i) => i / 1000 == 4).ToList();
        Assert.True(string.CompareOrdinal(earlier.Max(StringComparer.Ordinal), later.Min(StringComparer.Ordinal)) < 0);
        Assert.All(ids, id => Assert.True(string.CompareOrdinal(id, AuditKeys.RowKeyBound(start)) >= 0));
    }
}
