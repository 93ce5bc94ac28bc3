using System.Globalization;

namespace Serverless.Bench;

internal sealed class CommandLineException(string message) : Exception(message);

/// <summary><c>--name value</c> pairs; a name may repeat (<c>--header</c>). A name without a value is a flag.</summary>
internal sealed class CommandLine
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);

    public static CommandLine Parse(IEnumerable<string> args)
    {
        var line = new CommandLine();
        string? name = null;
        foreach (var arg in args)
        {
            if (arg.StartsWith("--", StringComparison.Ordinal))
            {
                if (name is not null)
                {
                    line.Add(name, "true");
                }

                name = arg[2..];
            }
            else if (name is not null)
            {
                line.Add(name, arg);
                name = null;
            }
            else
            {
                throw new CommandLineException($"unexpected argument '{arg}'");
            }
        }

        if (name is not null)
        {
            line.Add(name, "true");
        }

        return line;
    }

    private void Add(string name, string value)
    {
        if (!_values.TryGetValue(name, out var list))
        {
            _values[name] = list = [];
        }

        list.Add(value);
    }

    public string Required(string name) => Optional(name) ?? throw new CommandLineException($"--{name} is required");

    public string? Optional(string name) => _values.TryGetValue(name, out var list) ? list[^1] : null;

    public IReadOnlyList<string> All(string name) => _values.TryGetValue(name, out var list) ? list : [];

    public int Int(string name, int fallback) => Optional(name) is { } text ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;

    public bool Flag(string name) => Optional(name) is "true";

    /// <summary><c>--header 'name: value'</c> pairs.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers() => All("header")
        .Select(h => h.Split(':', 2))
        .Select(p => p.Length == 2 ? KeyValuePair.Create(p[0].Trim(), p[1].Trim()) : throw new CommandLineException($"bad header '{p[0]}'"))
        .ToList();
}
