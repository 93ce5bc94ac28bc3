using Xunit;
using Xunit.Sdk;
using Xunit.v3;

[assembly: TestCaseOrderer(typeof(Serverless.Tests.Infrastructure.RandomTestCaseOrderer))]

namespace Serverless.Tests.Infrastructure;

/// <summary>
/// Runs the tests of each class (or collection) in a random order drawn from the run's seed, so a test that depends on
/// another having run first fails sooner or later instead of never. Collections are already shuffled by xunit's
/// default collection orderer from the same seed. The seed is printed on the "Starting:" line of each run
/// (<c>seed = N</c>); replay a run with <c>XUNIT_SEED=N ./scripts/test.sh</c> (or <c>dotnet test -- xUnit.Seed=N</c>).
/// </summary>
/// <remarks>
/// NOTE: classes are ordered in parallel, so the shared <see cref="Randomizer.Current"/> would hand out numbers in a
/// different order each run. Each call instead shuffles with its own generator, made from the seed and the names of
/// the tests it orders: the same seed gives the same order.
/// </remarks>
public sealed class RandomTestCaseOrderer : ITestCaseOrderer
{
    public IReadOnlyCollection<TTestCase> OrderTestCases<TTestCase>(IReadOnlyCollection<TTestCase> testCases)
        where TTestCase : notnull, ITestCase
    {
        var ordered = testCases.OrderBy(t => t.UniqueID, StringComparer.Ordinal).ToArray();
        var hash = 17;
        foreach (var testCase in ordered)
        {
            hash = unchecked((hash * 31) + StableHash(testCase.UniqueID));
        }

        new Random(unchecked(Randomizer.Seed ^ hash)).Shuffle(ordered);
        return ordered;
    }

    // string.GetHashCode differs per process; the order must not.
    private static int StableHash(string text)
    {
        var hash = unchecked((int)2166136261);
        foreach (var c in text)
        {
            hash = unchecked((hash ^ c) * 16777619);
        }

        return hash;
    }
}
