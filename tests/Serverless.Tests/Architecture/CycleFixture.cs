// Two folders that use each other on purpose, so NamespaceGraph_KnownCycle_IsFound can prove the detector finds a loop.
namespace Serverless.Tests.Architecture.Fixture.A
{
    internal sealed class UsesB
    {
        public static int Read() => Fixture.B.UsesA.Value + 1;
    }
}

namespace Serverless.Tests.Architecture.Fixture.B
{
    internal sealed class UsesA
    {
        public static int Value => 1;

        public static string Name() => nameof(Fixture.A.UsesB) + typeof(Fixture.A.UsesB).Name;
    }
}
