using Serverless.Relay.Storage.Batches;
using Xunit;

namespace Serverless.Tests.Storage;

/// <summary>
/// When the usage writer's row work yields: every <see cref="RowSlices.Rows"/> rows while it keeps up, never for a round
/// that is behind (a yielding writer on a full CPU fell behind until the relay shed requests).
/// </summary>
public sealed class RowSlicesTests
{
    [Fact]
    public void Shared_YieldsAfterEverySliceOfRows()
    {
        var due = Enumerable.Range(1, 4 * RowSlices.Rows).Where(RowSlices.Shared.Due).ToList();

        Assert.Equal([RowSlices.Rows, 2 * RowSlices.Rows, 3 * RowSlices.Rows, 4 * RowSlices.Rows], due);
    }

    [Fact]
    public void Whole_NeverYields()
    {
        Assert.DoesNotContain(Enumerable.Range(1, 1_000), RowSlices.Whole.Due);
    }
}
