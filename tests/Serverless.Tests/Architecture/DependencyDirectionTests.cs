using System.Reflection;
using Xunit;
using Serverless.Handler.Hosting;

namespace Serverless.Tests.Architecture;

/// <summary>
/// The dependency rules of DESIGN.md, enforced on the compiled code: the four projects point one way
/// (Relay ← Webhooks ← Jobs ← Handler), and no two of Relay's folders use each other, directly or around a loop.
/// </summary>
public sealed class DependencyDirectionTests
{
    private static readonly string[] Layers = ["Serverless.Relay", "Serverless.Webhooks", "Serverless.Jobs", "Serverless.Handler"];

    [Fact]
    public void Projects_ReferenceOnlyEarlierLayers()
    {
        var loaded = Layers.ToDictionary(name => name, Assembly.Load);
        Assert.Same(typeof(HandlerApp).Assembly, loaded["Serverless.Handler"]);

        var violations = new List<string>();
        for (var i = 0; i < Layers.Length; i++)
        {
            var later = Layers[(i + 1)..];
            foreach (var reference in loaded[Layers[i]].GetReferencedAssemblies())
            {
                if (later.Contains(reference.Name))
                {
                    violations.Add($"{Layers[i]} references {reference.Name}");
                }
            }
        }

        Assert.Empty(violations);
    }

    [Fact]
    public void RelayFolders_HaveNoCycles()
    {
        var graph = NamespaceGraph.Of(Assembly.Load("Serverless.Relay"), "Serverless.Relay");

        // The graph must see the folders at all, or an empty result would prove nothing.
        Assert.Contains("Formats", graph.Edges.Keys);
        Assert.Contains("Canonical", graph.Edges["Formats"].Keys);

        var cycles = graph.Cycles();
        Assert.True(
            cycles.Count == 0,
            "Folders of Serverless.Relay that depend on each other:\n" + string.Join(
                "\n\n",
                cycles.Select(c => string.Join(" ↔ ", c) + ":\n  " + string.Join("\n  ", graph.Explain(c)))));
    }

    [Fact]
    public void NamespaceGraph_KnownCycle_IsFound()
    {
        // The detector itself: a test assembly's own folders with a deliberate loop must be reported.
        var graph = NamespaceGraph.Of(typeof(DependencyDirectionTests).Assembly, "Serverless.Tests.Architecture.Fixture");
        var cycle = Assert.Single(graph.Cycles());
        Assert.Equal(["A", "B"], cycle);
    }
}
